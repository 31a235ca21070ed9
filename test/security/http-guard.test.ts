// The HTTP port's guard: API tokens from a file (re-read on change), the Host allow-list, the open probe paths and
// the security headers, against a running meshsight over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { request } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { parseTokens } from "../../src/security/tokens.ts"
import { startMeshsightAsync } from "../support/meshsight.ts"

/** A GET with any headers (Host included, which fetch will not set). */
const get = (port: number, path: string, headers: Record<string, string> = {}) =>
  new Promise<{ status: number; headers: Record<string, string | Array<string> | undefined>; body: string }>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers }, (res) => {
      let body = ""
      res.on("data", (d) => (body += d))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on("error", reject)
    req.end()
  })

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe("HTTP guard", () => {
  let dir: string
  let tokenFile: string
  let app: Awaited<ReturnType<typeof startMeshsightAsync>>
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "meshsight-tokens-"))
    tokenFile = join(dir, "tokens")
    writeFileSync(tokenFile, "# readers\nalpha-token\n\n  beta-token  \n")
    app = await startMeshsightAsync({
      config: {
        MESHSIGHT_API_TOKEN_FILE: tokenFile,
        MESHSIGHT_FILE_RELOAD_INTERVAL_MS: "50",
        MESHSIGHT_HTTP_ALLOWED_HOSTS: "meshsight.example,127.0.0.1,localhost"
      }
    })
  })
  afterAll(async () => {
    await app?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it("the API and /metrics answer 401 without a valid bearer token, 200 with any listed one", async () => {
    for (const path of ["/api/services", "/api/topology", "/metrics"]) {
      const none = await get(app.httpPort, path)
      expect(none.status, path).toBe(401)
      expect(none.headers["www-authenticate"]).toBe('Bearer realm="meshsight"')
      expect((await get(app.httpPort, path, bearer("wrong"))).status, path).toBe(401)
      expect((await get(app.httpPort, path, bearer("alpha-toke"))).status, path).toBe(401)
      expect((await get(app.httpPort, path, { authorization: "Basic YWxwaGEtdG9rZW4=" })).status, path).toBe(401)
      expect((await get(app.httpPort, path, bearer("alpha-token"))).status, path).toBe(200)
      expect((await get(app.httpPort, path, bearer("beta-token"))).status, path).toBe(200)
    }
    expect((await get(app.httpPort, "/metrics/extra")).status).toBe(401)
  })

  it("/healthz, /readyz and the UI's files need no token", async () => {
    expect((await get(app.httpPort, "/healthz")).status).toBe(200)
    expect((await get(app.httpPort, "/readyz")).status).toBe(200)
    expect((await get(app.httpPort, "/")).status).not.toBe(401)
  })

  it("a token added to or removed from the file takes effect without a restart", async () => {
    writeFileSync(tokenFile, "gamma-token\n")
    for (let i = 0; (await get(app.httpPort, "/api/services", bearer("gamma-token"))).status !== 200; i++) {
      if (i > 100) throw new Error("the new token was never accepted")
      await sleep(50)
    }
    expect((await get(app.httpPort, "/api/services", bearer("alpha-token"))).status).toBe(401)
    // A file emptied mid-write keeps the last good tokens.
    writeFileSync(tokenFile, "")
    await sleep(300) // a wait for nothing to happen: the watcher must not drop the tokens
    expect((await get(app.httpPort, "/api/services", bearer("gamma-token"))).status).toBe(200)
    writeFileSync(tokenFile, "alpha-token\nbeta-token\n")
    for (let i = 0; (await get(app.httpPort, "/api/services", bearer("alpha-token"))).status !== 200; i++) {
      if (i > 100) throw new Error("the restored token was never accepted")
      await sleep(50)
    }
  })

  it("answers 421 for a Host outside MESHSIGHT_HTTP_ALLOWED_HOSTS (DNS rebinding), except on the probe paths", async () => {
    const ok = bearer("alpha-token")
    expect((await get(app.httpPort, "/api/services", { ...ok, host: "meshsight.example:12800" })).status).toBe(200)
    expect((await get(app.httpPort, "/api/services", { ...ok, host: "MESHSIGHT.example" })).status).toBe(200)
    const rebound = await get(app.httpPort, "/api/services", { ...ok, host: "attacker.example:12800" })
    expect(rebound.status).toBe(421)
    expect(rebound.body).toContain("MESHSIGHT_HTTP_ALLOWED_HOSTS")
    expect((await get(app.httpPort, "/", { host: "attacker.example" })).status).toBe(421)
    expect((await get(app.httpPort, "/healthz", { host: "10.1.2.3:12800" })).status).toBe(200)
  })

  it("every answer carries nosniff, no-framing and the Content-Security-Policy", async () => {
    for (const [path, headers] of [
      ["/", {}],
      ["/api/services", bearer("alpha-token")],
      ["/api/services", {}],
      ["/nope", {}]
    ] as const) {
      const res = await get(app.httpPort, path, headers)
      expect(res.headers["x-content-type-options"], path).toBe("nosniff")
      expect(res.headers["x-frame-options"], path).toBe("DENY")
      expect(String(res.headers["content-security-policy"]), path).toContain("frame-ancestors 'none'")
      expect(String(res.headers["content-security-policy"]), path).toContain("script-src 'self'")
    }
  })

  it("token files: one a line, comments and blanks skipped, an empty list refused", () => {
    const set = parseTokens("# comment\r\none\r\n\n two \n")
    expect(["one", "two", "three", "", "# comment"].map(set.accepts)).toStrictEqual([true, true, false, false, false])
    expect(() => parseTokens("# only a comment\n\n")).toThrow(/no token/)
  })
})
