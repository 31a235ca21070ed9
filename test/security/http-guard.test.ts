// The HTTP port's guard: API tokens from a file (re-read on change), the Host allow-list, the open probe paths and
// the security headers, against a running meshsight over real HTTP.
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
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
      assert.strictEqual(none.status, 401, path)
      assert.strictEqual(none.headers["www-authenticate"], 'Bearer realm="meshsight"')
      assert.strictEqual((await get(app.httpPort, path, bearer("wrong"))).status, 401, path)
      assert.strictEqual((await get(app.httpPort, path, bearer("alpha-toke"))).status, 401, path)
      assert.strictEqual((await get(app.httpPort, path, { authorization: "Basic YWxwaGEtdG9rZW4=" })).status, 401, path)
      assert.strictEqual((await get(app.httpPort, path, bearer("alpha-token"))).status, 200, path)
      assert.strictEqual((await get(app.httpPort, path, bearer("beta-token"))).status, 200, path)
    }
    assert.strictEqual((await get(app.httpPort, "/metrics/extra")).status, 401)
  })

  it("/healthz, /readyz and the UI's files need no token", async () => {
    assert.strictEqual((await get(app.httpPort, "/healthz")).status, 200)
    assert.strictEqual((await get(app.httpPort, "/readyz")).status, 200)
    assert.notStrictEqual((await get(app.httpPort, "/")).status, 401)
  })

  it("a token added to or removed from the file takes effect without a restart", async () => {
    writeFileSync(tokenFile, "gamma-token\n")
    for (let i = 0; (await get(app.httpPort, "/api/services", bearer("gamma-token"))).status !== 200; i++) {
      if (i > 100) assert.fail("the new token was never accepted")
      await sleep(50)
    }
    assert.strictEqual((await get(app.httpPort, "/api/services", bearer("alpha-token"))).status, 401)
    // A file emptied mid-write keeps the last good tokens.
    writeFileSync(tokenFile, "")
    await sleep(300)
    assert.strictEqual((await get(app.httpPort, "/api/services", bearer("gamma-token"))).status, 200)
    writeFileSync(tokenFile, "alpha-token\nbeta-token\n")
    for (let i = 0; (await get(app.httpPort, "/api/services", bearer("alpha-token"))).status !== 200; i++) {
      if (i > 100) assert.fail("the restored token was never accepted")
      await sleep(50)
    }
  })

  it("answers 421 for a Host outside MESHSIGHT_HTTP_ALLOWED_HOSTS (DNS rebinding), except on the probe paths", async () => {
    const ok = bearer("alpha-token")
    assert.strictEqual((await get(app.httpPort, "/api/services", { ...ok, host: "meshsight.example:12800" })).status, 200)
    assert.strictEqual((await get(app.httpPort, "/api/services", { ...ok, host: "MESHSIGHT.example" })).status, 200)
    const rebound = await get(app.httpPort, "/api/services", { ...ok, host: "attacker.example:12800" })
    assert.strictEqual(rebound.status, 421)
    assert.include(rebound.body, "MESHSIGHT_HTTP_ALLOWED_HOSTS")
    assert.strictEqual((await get(app.httpPort, "/", { host: "attacker.example" })).status, 421)
    assert.strictEqual((await get(app.httpPort, "/healthz", { host: "10.1.2.3:12800" })).status, 200)
  })

  it("every answer carries nosniff, no-framing and the Content-Security-Policy", async () => {
    for (const [path, headers] of [
      ["/", {}],
      ["/api/services", bearer("alpha-token")],
      ["/api/services", {}],
      ["/nope", {}]
    ] as const) {
      const res = await get(app.httpPort, path, headers)
      assert.strictEqual(res.headers["x-content-type-options"], "nosniff", path)
      assert.strictEqual(res.headers["x-frame-options"], "DENY", path)
      assert.include(String(res.headers["content-security-policy"]), "frame-ancestors 'none'", path)
      assert.include(String(res.headers["content-security-policy"]), "script-src 'self'", path)
    }
  })

  it("token files: one a line, comments and blanks skipped, an empty list refused", () => {
    const set = parseTokens("# comment\r\none\r\n\n two \n")
    assert.deepStrictEqual(["one", "two", "three", "", "# comment"].map(set.accepts), [true, true, false, false, false])
    assert.throws(() => parseTokens("# only a comment\n\n"), /no token/)
  })
})
