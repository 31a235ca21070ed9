// The pipeline's stages composed as Layers: ingest → decode/identify/analyze (AlsPipeline) → aggregate → store
// → query / HTTP, and the Istio-standard export beside the aggregator. Swapping a stage means passing another
// Layer here; `main.ts` picks the analyzers.
import { Layer } from "effect"
import { AggregatorLive } from "./aggregation/aggregator.ts"
import { MeshExportLive } from "./export/mesh-export.ts"
import { HttpServerLive } from "./http/http-server.ts"
import { type AnalyzerRegistry, chainLayer } from "./identity/chain.ts"
import { AlsPipelineLive } from "./ingest/als-pipeline.ts"
import { GrpcServerLive } from "./ingest/grpc-server.ts"
import { QueryServiceLive } from "./query/query-service.ts"
import { MemoryStoreLive } from "./store/metric-store.ts"

export const makeAppLayer = (analyzers: AnalyzerRegistry) => {
  const store = MemoryStoreLive
  const aggregator = AggregatorLive.pipe(Layer.provide(store))
  const identity = chainLayer(analyzers)
  // The Istio-standard export sees the same records as the aggregator (built once, shared with /metrics/mesh).
  const meshExport = MeshExportLive
  const grpc = GrpcServerLive.pipe(Layer.provide(AlsPipelineLive.pipe(Layer.provide([identity, aggregator, meshExport]))))
  const query = QueryServiceLive.pipe(Layer.provide(store))
  // Built in this order and torn down in reverse: HTTP stops first, then gRPC drains its streams, then the
  // aggregator flushes what they left into the store.
  return HttpServerLive.pipe(Layer.provideMerge(Layer.mergeAll(grpc, query, identity, aggregator, store, meshExport)))
}
