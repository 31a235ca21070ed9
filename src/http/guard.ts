// What every HTTP request passes before its route, and the headers every answer carries:
// - Host check (MESHSIGHT_HTTP_ALLOWED_HOSTS): a page on another site that rebinds its DNS name to meshsight's
//   address sends its own name as Host; answering only for the configured names stops it reading the API.
// - Bearer token (MESHSIGHT_API_TOKEN_FILE) for the API and /metrics. The UI's files (the same public bundle for
//   everyone, no data in them) load without one so the page can ask for the token; the data it shows comes from
//   the API, which needs it.
// - /healthz and /readyz skip both: kubelet probes send the pod IP as Host and no token.
// - nosniff, no framing (clickjacking) and a Content-Security-Policy that lets the UI load only its own files.
import { Effect, Schema, SchemaGetter } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { bearerToken, watchTokenFile } from "../security/tokens.ts"
import { filePath, setting, settingConfig } from "../util/setting.ts"

const OPEN_PATHS = new Set(["/healthz", "/readyz"])

const needsToken = (path: string) => path.startsWith("/api/") || path === "/api" || path === "/metrics" || path.startsWith("/metrics/")

/** The UI's styles are set from script (cytoscape, uPlot), hence 'unsafe-inline' for styles only. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join("; ")

const SECURITY_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer"
}

/** The Host header's name without its port, lower-cased (`[::1]:80` → `[::1]`). */
export const hostName = (host: string): string => host.trim().toLowerCase().replace(/:\d*$/, "")

const problem = (status: number, error: string, headers: Record<string, string> = {}) =>
  HttpServerResponse.jsonUnsafe({ error }, { status, headers: { ...SECURITY_HEADERS, ...headers } })

/** Bearer tokens the API asks for; "" asks for none. */
export const apiTokenFile = filePath(["MESHSIGHT_API_TOKEN_FILE"])

/** Host header names the HTTP server answers for; empty: any. */
export const httpAllowedHosts = setting({
  names: ["MESHSIGHT_HTTP_ALLOWED_HOSTS"],
  schema: Schema.Trim.pipe(
    Schema.decodeTo(Schema.Array(Schema.String), {
      decode: SchemaGetter.transform((s: string) =>
        s
          .split(",")
          .map((x) => x.trim().toLowerCase())
          .filter((x) => x !== "")
      ),
      encode: SchemaGetter.transform((xs: ReadonlyArray<string>) => xs.join(","))
    })
  ),
  expected: "a comma-separated list of host names",
  default: [] as ReadonlyArray<string>
})

export const HttpGuard = HttpRouter.middleware(
  Effect.gen(function* () {
    const tokens = yield* watchTokenFile(apiTokenFile)
    const allowed = new Set((yield* settingConfig(httpAllowedHosts)).map(hostName))
    return (handler) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const path = request.url.split("?")[0] ?? ""
        if (!OPEN_PATHS.has(path)) {
          if (allowed.size > 0 && !allowed.has(hostName(request.headers.host ?? ""))) {
            return problem(421, "this server does not answer for that host name (MESHSIGHT_HTTP_ALLOWED_HOSTS)")
          }
          if (tokens !== undefined && needsToken(path)) {
            const token = bearerToken(request.headers.authorization)
            if (token === undefined || !tokens.accepts(token)) {
              return problem(401, "a valid `Authorization: Bearer TOKEN` is required", { "www-authenticate": 'Bearer realm="meshsight"' })
            }
          }
        }
        return HttpServerResponse.setHeaders(yield* handler, SECURITY_HEADERS)
      })
  }),
  { global: true }
)

/** Unknown paths: answered here rather than by the server's default, so the guard (and its headers) covers them. */
export const NotFoundRoute = HttpRouter.add("*", "*", problem(404, "not found"))
