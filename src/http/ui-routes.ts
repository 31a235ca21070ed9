// The built-in web UI: the files `vite build --config ui/vite.config.ts` writes to dist/ui, read once at start-up
// and served from memory. Hashed assets never change under their name, so browsers may keep them for a year;
// index.html names the current assets, so it is revalidated on every load. Text files are also kept gzipped (the
// bundle shrinks to a third) and sent so to browsers that accept it.
import { Effect } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, extname, join, relative, sep } from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".map": "application/json",
  ".woff2": "font/woff2"
}

const IMMUTABLE = "public, max-age=31536000, immutable"

/** The package root: the nearest folder above this module with a package.json (src/http/ or the bundle in dist/ both work). */
const packageRoot = (from: string): string => {
  let dir = from
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir)
    if (parent === dir) return from
    dir = parent
  }
  return dir
}

export const defaultUiDir = (): string => join(packageRoot(dirname(fileURLToPath(import.meta.url))), "dist", "ui")

const filesUnder = (root: string): Array<string> =>
  readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(root, join(d.parentPath, d.name)).split(sep).join("/"))

const COMPRESSIBLE = new Set([".html", ".js", ".css", ".svg", ".json", ".map"])

/** The file's response: gzipped when the type compresses and the request accepts gzip. */
const fileResponder = (body: Uint8Array, path: string, cacheControl: string) => {
  const contentType = CONTENT_TYPES[extname(path)] ?? "application/octet-stream"
  const headers = { "cache-control": cacheControl, "x-content-type-options": "nosniff", vary: "accept-encoding" }
  const plain = HttpServerResponse.uint8Array(body, { contentType, headers })
  if (!COMPRESSIBLE.has(extname(path))) return Effect.succeed(plain)
  const gzipped = HttpServerResponse.uint8Array(gzipSync(body, { level: 9 }), {
    contentType,
    headers: { ...headers, "content-encoding": "gzip" }
  })
  return Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    return /\bgzip\b/.test(request.headers["accept-encoding"] ?? "") ? gzipped : plain
  })
}

const notBuiltPage = (dir: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>meshsight: web UI not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>meshsight's web UI is not built</h1>
<p>No <code>index.html</code> in <code>${dir.replaceAll("<", "&lt;")}</code>. Build it with <code>npm run build</code> and restart meshsight.</p>
<p>The JSON API is available under <a href="/api/services"><code>/api</code></a>.</p>
</body></html>`

/** Routes for the UI in `dir`: `/` (index.html) and every built file under its path. */
export const makeUiRoutes = (dir: string) =>
  HttpRouter.use(
    Effect.fn(function* (router) {
      if (!existsSync(join(dir, "index.html"))) {
        const page = HttpServerResponse.text(notBuiltPage(dir), {
          status: 503,
          contentType: CONTENT_TYPES[".html"],
          headers: { "cache-control": "no-cache" }
        })
        yield* router.add("GET", "/", Effect.succeed(page))
        return
      }
      for (const path of filesUnder(dir)) {
        const body = readFileSync(join(dir, path))
        const isIndex = path === "index.html"
        const respond = fileResponder(body, path, isIndex || !path.startsWith("assets/") ? "no-cache" : IMMUTABLE)
        yield* router.add("GET", `/${path}`, respond)
        if (isIndex) yield* router.add("GET", "/", respond)
      }
    })
  )

export const UiRoutes = makeUiRoutes(defaultUiDir())
