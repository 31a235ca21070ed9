// How meshsight serves the built UI: content types, caching (hashed assets immutable, index.html revalidated),
// gzip for browsers that accept it, and a clear page when the UI was not built.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { HttpRouter } from "effect/http"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { defaultUiDir, makeUiRoutes } from "../../src/http/ui-routes.ts"
import { startMeshsightAsync } from "../support/meshsight.ts"
import { ensureUiBuilt } from "./support/build-ui.ts"

const get = (url: string, encoding = "identity") => fetch(url, { headers: { "accept-encoding": encoding } })

describe("serving the web UI", () => {
  let app: Awaited<ReturnType<typeof startMeshsightAsync>>
  beforeAll(async () => {
    await ensureUiBuilt()
    app = await startMeshsightAsync()
  })
  afterAll(() => app?.stop())

  it("answers / with index.html, revalidated on every load", async () => {
    const res = await get(`${app.url}/`)
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(res.headers.get("cache-control")).toBe("no-cache")
    expect(await res.text()).toBe(readFileSync(join(defaultUiDir(), "index.html"), "utf8"))
  })

  it("serves the hashed assets index.html names as immutable, with their types, gzipped when accepted", async () => {
    const html = await (await get(`${app.url}/`)).text()
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!)
    expect(assets.map((a) => a.replace(/-[\w-]{8}\./, ".")).sort()).toEqual(["/assets/index.css", "/assets/index.js"])
    for (const asset of assets) {
      const plain = await get(`${app.url}${asset}`)
      expect(plain.status, asset).toBe(200)
      expect(plain.headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
      expect(plain.headers.get("content-type")).toBe(asset.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8")
      const body = new Uint8Array(await plain.arrayBuffer())
      // node's fetch decodes gzip itself; the raw bytes are checked through the content-length.
      const gzipped = await get(`${app.url}${asset}`, "gzip, deflate, br")
      expect(gzipped.headers.get("content-encoding")).toBe("gzip")
      expect(Number(gzipped.headers.get("content-length"))).toBeLessThan(body.length / 2)
      expect(new Uint8Array(await gzipped.arrayBuffer())).toStrictEqual(body)
    }
    expect((await get(`${app.url}/assets/missing-12345678.js`)).status).toBe(404)
  })

  it("explains how to build the UI when dist/ui is missing", async () => {
    const { handler, dispose } = HttpRouter.toWebHandler(makeUiRoutes("/nonexistent/ui"), { disableLogger: true })
    try {
      const res = await handler(new Request("http://localhost/"))
      expect(res.status).toBe(503)
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8")
      expect(await res.text()).toContain("npm run build")
    } finally {
      await dispose()
    }
  })
})
