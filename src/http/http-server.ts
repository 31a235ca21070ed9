// The HTTP server: query API, health, Prometheus /metrics and /metrics/mesh, and the web UI, on one port.
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { createServer } from "node:http"
import { AppConfig } from "../config.ts"
import { ApiRoutes } from "./api-routes.ts"
import { HealthRoutes } from "./health-routes.ts"
import { MetricsRoutes } from "./metrics-routes.ts"
import { UiRoutes } from "./ui-routes.ts"

export const HttpRoutes = Layer.mergeAll(ApiRoutes, HealthRoutes, UiRoutes, MetricsRoutes)

/** Also exposes `HttpServer` (its bound address). */
export const HttpServerLive = HttpRouter.serve(HttpRoutes, { disableLogger: true }).pipe(
  Layer.provideMerge(Layer.unwrap(Effect.gen(function*() {
    const config = yield* AppConfig
    return NodeHttpServer.layer(createServer, { host: config.httpHost, port: config.httpPort, gracefulShutdownTimeout: "5 seconds" })
  })))
)
