// Test certificates made with the openssl command line in a temp folder: a CA, server certificates for localhost /
// 127.0.0.1 and a client certificate, each signed by the CA (EC P-256 keys: quick to make).
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { X509Certificate } from "node:crypto"

export interface Pem {
  readonly cert: string
  readonly key: string
  /** SHA-256 fingerprint as Node's X509Certificate and TLSSocket report it. */
  readonly fingerprint256: string
}

export interface TestPki {
  readonly dir: string
  readonly ca: Pem
  /** A new server certificate (a new key, a new serial) signed by the CA. */
  readonly server: () => Pem
  readonly client: () => Pem
  /** Writes text to a file in the folder; returns its path. */
  readonly write: (name: string, text: string) => string
  readonly remove: () => void
}

const openssl = (cwd: string, ...args: Array<string>) => execFileSync("openssl", args, { cwd, stdio: "pipe" })

export const makeTestPki = (): TestPki => {
  const dir = mkdtempSync(join(tmpdir(), "meshsight-pki-"))
  let n = 0
  const read = (base: string): Pem => {
    const cert = readFileSync(join(dir, `${base}.crt`), "utf8")
    return { cert, key: readFileSync(join(dir, `${base}.key`), "utf8"), fingerprint256: new X509Certificate(cert).fingerprint256 }
  }
  const newKey = (base: string) => openssl(dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${base}.key`)
  newKey("ca")
  openssl(dir, "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=meshsight test CA", "-days", "2", "-out", "ca.crt")
  const issue = (cn: string, extensions: string): Pem => {
    const base = `${cn}-${++n}`
    newKey(base)
    openssl(dir, "req", "-new", "-key", `${base}.key`, "-subj", `/CN=${cn}`, "-out", `${base}.csr`)
    writeFileSync(join(dir, `${base}.ext`), extensions)
    openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${base}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      `${base}.ext`,
      "-out",
      `${base}.crt`
    )
    return read(base)
  }
  return {
    dir,
    ca: read("ca"),
    server: () => issue("localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
    client: () => issue("envoy", "extendedKeyUsage=clientAuth\n"),
    write: (name, text) => {
      const path = join(dir, name)
      writeFileSync(path, text)
      return path
    },
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}
