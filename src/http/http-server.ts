// The HTTP server: query API, health, Prometheus /metrics and /metrics/mesh, and the web UI, on one port.
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { createServer } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import { listenFailure } from "../listen-failure.ts"
import { httpTlsCertFile, httpTlsFiles, secureContextOptions } from "../security/tls.ts"
import { Int, NonEmpty, setting, settingConfig, settingsConfig } from "../util/setting.ts"
import { ApiRoutes } from "./api-routes.ts"
import { HttpGuard, NotFoundRoute } from "./guard.ts"
import { HealthRoutes } from "./health-routes.ts"
import { MetricsRoutes } from "./metrics-routes.ts"
import { UiRoutes } from "./ui-routes.ts"

export class HttpBindError extends Schema.TaggedError<HttpBindError>()("HttpBindError", {
  address: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `cannot listen on HTTP ${this.address}: ${this.detail}`
  }
}

export const HttpRoutes = Layer.mergeAll(ApiRoutes, HealthRoutes, UiRoutes, MetricsRoutes, NotFoundRoute, HttpGuard)

export const httpHost = setting({
  names: ["MESHSIGHT_HTTP_HOST"],
  schema: NonEmpty,
  expected: "a host name or address",
  default: "0.0.0.0"
})
export const httpPort = setting({
  names: ["MESHSIGHT_HTTP_PORT"],
  schema: Int(0, 65535),
  expected: "a port number (0-65535)",
  default: 12800
})

/** The start-up line, naming the scheme (the platform's own line always says http://). */
const logListening = Layer.effectDiscard(
  Effect.gen(function* () {
    const tls = yield* settingConfig(httpTlsCertFile)
    // formatAddress writes `http://host:port` for any TCP address.
    const where = HttpServer.formatAddress((yield* HttpServer.HttpServer).address).replace(/^http:\/\//, "")
    yield* Effect.logInfo(
      `HTTP listening on ${tls === "" ? "http" : "https"}://${where}: web UI, /api, /metrics, /metrics/mesh, /healthz, /readyz`
    )
  })
)

/** Also exposes `HttpServer` (its bound address). */
export const HttpServerLive = Layer.merge(HttpRouter.serve(HttpRoutes, { disableLogger: true, disableListenLog: true }), logListening).pipe(
  Layer.provideMerge(
    Layer.unwrap(
      Effect.gen(function* () {
        const config = yield* settingsConfig({ httpHost, httpPort })
        const options = { host: config.httpHost, port: config.httpPort, gracefulShutdownTimeout: "5 seconds" } as const
        const tls = yield* httpTlsFiles
        const address = config.httpHost.includes(":") ? `[${config.httpHost}]:${config.httpPort}` : `${config.httpHost}:${config.httpPort}`
        const server =
          tls === undefined
            ? NodeHttpServer.layer(createServer, options)
            : NodeHttpServer.layer(() => {
                const https = createHttpsServer(secureContextOptions(tls.current()))
                // New connections get the rotated certificate; open ones keep the one they started with.
                tls.onChange((files) => https.setSecureContext(secureContextOptions(files)))
                return https
              }, options)
        return Layer.catchTag(
          server,
          "ServeError",
          (e): Layer.Layer<Layer.Success<typeof server>, HttpBindError> =>
            Layer.effectContext(Effect.fail(new HttpBindError({ address, detail: listenFailure(e.cause) })))
        )
      })
    )
  )
)
