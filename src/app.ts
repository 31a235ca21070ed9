// The pipeline's stages composed as Layers: ingest → (pipeline/: decode → identify → analyze) → aggregate → store
// → query / HTTP. Swapping a stage means passing another Layer here; `main.ts` picks the analyzers.
import { Layer } from "effect"
import { AggregatorLive } from "./aggregation/aggregator.ts"
import { EndpointNamingLive } from "./analysis/endpoint-names.ts"
import { HttpServerLive } from "./http/http-server.ts"
import { type AnalyzerLayers, chainLayer } from "./identity/chain.ts"
import { AlsPipelineLive } from "./pipeline/als-pipeline.ts"
import { GrpcServerLive } from "./ingest/grpc-server.ts"
import { MetricsPipelineLive } from "./pipeline/metrics-pipeline.ts"
import { ProxyMetricStoreLive } from "./proxy-metrics/proxy-metric-store.ts"
import { QueryServiceLive } from "./query/query-service.ts"
import * as MemoryStore from "./store/metric-store.ts"

/** The app with the given analyzers' Layers (`main-analyzers.ts` picks them from the configuration). */
export const makeAppLayer = (analyzers: AnalyzerLayers) => {
  const store = MemoryStore.layerConfig
  const aggregator = AggregatorLive.pipe(Layer.provide(store))
  const identity = chainLayer.pipe(Layer.provide(analyzers))
  const proxyMetrics = ProxyMetricStoreLive
  const grpc = GrpcServerLive.pipe(Layer.provide([
    AlsPipelineLive.pipe(Layer.provide([identity, aggregator, EndpointNamingLive])),
    MetricsPipelineLive.pipe(Layer.provide(proxyMetrics))
  ]))
  const query = QueryServiceLive.pipe(Layer.provide(store))
  // Built in this order and torn down in reverse: HTTP stops first, then gRPC drains its streams, then the
  // aggregator flushes what they left into the store.
  return HttpServerLive.pipe(Layer.provideMerge(Layer.mergeAll(grpc, query, identity, aggregator, store, proxyMetrics)))
}
