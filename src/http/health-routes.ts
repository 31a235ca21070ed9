// Liveness and readiness for orchestrators: /healthz answers while the process runs; /readyz once meshsight can
// resolve identities (k8s-mesh: after its first full sync), with a word on the storage when it cannot be read. The HTTP server starts after the gRPC server is bound.
import { Effect } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { IdentityResolver } from "../identity/identity-resolver.ts"
import { GrpcServer } from "../ingest/grpc-server.ts"
import { QueryService } from "../query/query-service.ts"

export const HealthRoutes = HttpRouter.use(
  Effect.fn(function* (router) {
    const identity = yield* IdentityResolver
    const grpc = yield* GrpcServer
    yield* router.add("GET", "/healthz", HttpServerResponse.text("ok"))
    const query = yield* QueryService
    // A TSDB that is away does not make the replica unready: ingest and remote write go on (a replica taken out
    // of its Service would lose Envoy's streams too); /readyz says so and the query API answers 503.
    yield* router.add(
      "GET",
      "/readyz",
      Effect.gen(function* () {
        if (!identity.isReady()) return HttpServerResponse.text("not ready: identity analyzers are still syncing", { status: 503 })
        const problem = yield* query.storageProblem
        const storage = problem === undefined ? "" : `; query API unavailable (503): ${problem}`
        return HttpServerResponse.text(`ready: ALS on gRPC port ${grpc.alsPort}${storage}`)
      })
    )
  })
)
