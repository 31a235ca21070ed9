// The container's HEALTHCHECK (the slim image has no curl): GET /healthz on meshsight's own HTTP port, over HTTPS
// when MESHSIGHT_HTTP_TLS_CERT_FILE is set. Exit 0 when it answers 200, else 1. The certificate is not checked:
// this asks whether the local process answers, not who it is (/healthz needs no token and no allowed Host).
import { request as httpRequest } from "node:http"
import { request as httpsRequest } from "node:https"

const env = process.env
const port = Number(env.MESHSIGHT_HTTP_PORT ?? 12800)
const configuredHost = env.MESHSIGHT_HTTP_HOST ?? "0.0.0.0"
// A wildcard listener is reached on loopback.
const host = configuredHost === "0.0.0.0" ? "127.0.0.1" : configuredHost === "::" ? "::1" : configuredHost
const tls = (env.MESHSIGHT_HTTP_TLS_CERT_FILE ?? "").trim() !== ""
const request = tls ? httpsRequest : httpRequest

const req = request({ host, port, path: "/healthz", timeout: 4_000, rejectUnauthorized: false }, (res) => {
  res.resume()
  process.exit(res.statusCode === 200 ? 0 : 1)
})
req.on("timeout", () => req.destroy(new Error("timed out")))
req.on("error", (e) => {
  console.error(`meshsight healthcheck: ${e.message}`)
  process.exit(1)
})
req.end()
