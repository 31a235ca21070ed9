// Liveness and readiness for orchestrators: /healthz answers while the process runs; /readyz once meshsight can
// resolve identities (k8s-mesh: after its first full sync). The HTTP server starts after the gRPC server is bound.
import { Effect } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { IdentityResolver } from "../identity/identity-resolver.ts"
import { GrpcServer } from "../ingest/grpc-server.ts"

export const HealthRoutes = HttpRouter.use(
  Effect.fn(function* (router) {
    const identity = yield* IdentityResolver
    const grpc = yield* GrpcServer
    yield* router.add("GET", "/healthz", HttpServerResponse.text("ok"))
    yield* router.add(
      "GET",
      "/readyz",
      Effect.sync(() =>
        identity.isReady()
          ? HttpServerResponse.text(`ready: ALS on gRPC port ${grpc.alsPort}`)
          : HttpServerResponse.text("not ready: identity analyzers are still syncing", { status: 503 })
      )
    )
  })
)
