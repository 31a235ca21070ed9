// TLS on both ports with certificates made by openssl: real grpc-js and HTTPS clients, plaintext and certificate-less
// clients refused, and a certificate rotation seen by new connections while an open ALS stream carries on.
import * as grpc from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { request } from "node:https"
import { connect } from "node:tls"
import { setTimeout as sleep } from "node:timers/promises"
import { meshMessages } from "../ui/support/mesh-traffic.ts"
import { type AlsConnection, openAlsStream, sendAlsMessages } from "../support/als-client.ts"
import { makeTestPki, type Pem, type TestPki } from "../support/certificates.ts"
import { startMeshsightAsync } from "../support/meshsight.ts"

const message = () => meshMessages([{ from: "productpage.default", to: "reviews.default", count: 2, latencyMs: 7 }])[0]!

/** The certificate the server at `port` presents to a new connection (its SHA-256 fingerprint). */
const presentedFingerprint = (port: number, pki: TestPki, client?: Pem) =>
  new Promise<string>((resolve, reject) => {
    const socket = connect(
      {
        host: "127.0.0.1",
        port,
        servername: "localhost",
        ca: pki.ca.cert,
        ALPNProtocols: ["h2", "http/1.1"],
        cert: client?.cert,
        key: client?.key
      },
      () => {
        resolve(socket.getPeerCertificate().fingerprint256)
        socket.destroy()
      }
    )
    socket.on("error", reject)
  })

const httpsGet = (url: string, pki: TestPki) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, { ca: pki.ca.cert }, (res) => {
      let body = ""
      res.on("data", (d) => (body += d))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("error", reject)
    req.end()
  })

const tls = (pki: TestPki, client?: Pem): AlsConnection => ({
  credentials: grpc.credentials.createSsl(
    Buffer.from(pki.ca.cert),
    client ? Buffer.from(client.key) : null,
    client ? Buffer.from(client.cert) : null
  )
})

/** Writes a new certificate and key over the served ones, key first, as a rotation that is seen half-way. */
const rotate = (pki: TestPki, certPath: string, keyPath: string) => {
  const next = pki.server()
  pki.write(keyPath.split("/").at(-1)!, next.key)
  pki.write(certPath.split("/").at(-1)!, next.cert)
  return next
}

const waitForFingerprint = async (port: number, pki: TestPki, expected: string, client?: Pem) => {
  for (const deadline = Date.now() + 5_000; Date.now() < deadline; await sleep(50)) {
    if ((await presentedFingerprint(port, pki, client)) === expected) return
  }
  throw new Error("the server still presents the old certificate")
}

describe("TLS", () => {
  let pki: TestPki
  beforeAll(() => {
    pki = makeTestPki()
  })
  afterAll(() => pki?.remove())

  it("gRPC over TLS: a TLS client streams ALS; a plaintext client is refused; a rotated certificate reaches new connections while an open stream carries on", async () => {
    const first = pki.server()
    const cert = pki.write("grpc.crt", first.cert)
    const key = pki.write("grpc.key", first.key)
    const app = await startMeshsightAsync({
      config: { MESHSIGHT_GRPC_TLS_CERT_FILE: cert, MESHSIGHT_GRPC_TLS_KEY_FILE: key, MESHSIGHT_FILE_RELOAD_INTERVAL_MS: "50" }
    })
    try {
      expect(await sendAlsMessages(app.alsPort, [message()], "v3", tls(pki))).toStrictEqual({ code: grpc.status.OK, details: "" })
      const plain = await sendAlsMessages(app.alsPort, [message()])
      expect(plain.code).toBe(grpc.status.UNAVAILABLE)
      expect(await presentedFingerprint(app.grpcPort, pki)).toBe(first.fingerprint256)

      const open = openAlsStream(app.alsPort, "v3", tls(pki))
      await open.write(message())
      const next = rotate(pki, cert, key)
      await waitForFingerprint(app.grpcPort, pki, next.fingerprint256)
      await open.write(message())
      expect(await open.end()).toStrictEqual({ code: grpc.status.OK, details: "" })
      open.close()
      expect(await sendAlsMessages(app.alsPort, [message()], "v3", tls(pki))).toStrictEqual({ code: grpc.status.OK, details: "" })
    } finally {
      await app.stop()
    }
  })

  it("gRPC mTLS: a client certificate signed by the client CA is required", async () => {
    const server = pki.server()
    const app = await startMeshsightAsync({
      config: {
        MESHSIGHT_GRPC_TLS_CERT_FILE: pki.write("mtls.crt", server.cert),
        MESHSIGHT_GRPC_TLS_KEY_FILE: pki.write("mtls.key", server.key),
        MESHSIGHT_GRPC_TLS_CLIENT_CA_FILE: pki.write("clients-ca.crt", pki.ca.cert)
      }
    })
    try {
      expect(await sendAlsMessages(app.alsPort, [message()], "v3", tls(pki, pki.client()))).toStrictEqual({
        code: grpc.status.OK,
        details: ""
      })
      expect((await sendAlsMessages(app.alsPort, [message()], "v3", tls(pki))).code).toBe(grpc.status.UNAVAILABLE)
      expect((await sendAlsMessages(app.alsPort, [message()])).code).toBe(grpc.status.UNAVAILABLE)
    } finally {
      await app.stop()
    }
  })

  it("HTTPS: the API answers over TLS, plain HTTP gets no answer, a rotated certificate reaches new connections", async () => {
    const first = pki.server()
    const cert = pki.write("http.crt", first.cert)
    const key = pki.write("http.key", first.key)
    const app = await startMeshsightAsync({
      config: { MESHSIGHT_HTTP_TLS_CERT_FILE: cert, MESHSIGHT_HTTP_TLS_KEY_FILE: key, MESHSIGHT_FILE_RELOAD_INTERVAL_MS: "50" }
    })
    const https = `https://localhost:${app.httpPort}`
    try {
      const answer = await httpsGet(`${https}/api/services`, pki)
      expect(answer.status).toBe(200)
      expect(JSON.parse(answer.body).services).toStrictEqual([])
      const plain = await fetch(`${app.url}/healthz`).then(
        (r) => r.status,
        (e: Error) => e.name
      )
      expect(plain).not.toBe(200)
      expect(await presentedFingerprint(app.httpPort, pki)).toBe(first.fingerprint256)
      const next = rotate(pki, cert, key)
      await waitForFingerprint(app.httpPort, pki, next.fingerprint256)
      expect((await httpsGet(`${https}/healthz`, pki)).status).toBe(200)
    } finally {
      await app.stop()
    }
  })

  it("start-up stops with one line when a certificate file cannot be used", async () => {
    const app = startMeshsightAsync({
      config: { MESHSIGHT_GRPC_TLS_CERT_FILE: "/nonexistent/tls.crt", MESHSIGHT_GRPC_TLS_KEY_FILE: "/nonexistent/tls.key" }
    })
    const error = await app.then(
      () => undefined,
      (e: unknown) => e
    )
    expect(String((error as Error)?.message)).toMatch(/cannot use MESHSIGHT_GRPC_TLS_CERT_FILE=\/nonexistent\/tls.crt: ENOENT/)
  })
})
