// The pipeline's stages composed as Layers: ingest → (pipeline/: decode → identify → analyze) → aggregate → store
// → query / HTTP, with the Istio-standard export and the error logs beside the aggregator and the memory budget
// under them all. Swapping a stage means passing another Layer here; `main.ts` picks the analyzers.
// With MESHSIGHT_WORKERS > 1 the same ingest runs in each worker process (makeWorkerLayer), handing what it
// aggregates to the primary (makePrimaryLayer), which holds the store and serves HTTP (src/workers/).
import { Layer } from "effect"
import { type AggregateSink, AggregatorToSink, StoreSinkLive } from "./aggregation/aggregator.ts"
import { EndpointNamingLive } from "./analysis/endpoint-names.ts"
import type { ErrorLogStore } from "./error-logs/error-log-store.ts"
import { ErrorLogsLive, ErrorLogStoreLive } from "./error-logs/error-logs.ts"
import { MeshExportLive } from "./export/mesh-export.ts"
import { HttpServerLive } from "./http/http-server.ts"
import { type AnalyzerLayers, chainLayer } from "./identity/chain.ts"
import type { IdentityResolver } from "./identity/identity-resolver.ts"
import { AlsPipelineLive } from "./pipeline/als-pipeline.ts"
import { GrpcServerLive } from "./ingest/grpc-server.ts"
import { MetricsPipelineLive } from "./pipeline/metrics-pipeline.ts"
import { MemoryBudgetLive, MemoryBudgetLog } from "./memory/budget.ts"
import { type ProxyMetricStore, ProxyMetricStoreLive } from "./proxy-metrics/proxy-metric-store.ts"
import { QueryServiceLive } from "./query/query-service.ts"
import * as MemoryStore from "./store/metric-store.ts"
import { AnswerSeriesRequests, ClusterMeshExport } from "./workers/mesh-export-relay.ts"
import { WorkersLive } from "./workers/primary.ts"
import { ForwardedErrorLogsLive, ForwardedProxyMetricsLive, OutboxLive, PrimarySinkLive, ReportListening } from "./workers/worker.ts"

const budget = MemoryBudgetLive

/** Ingest up to the aggregator, given where flushes, error logs and MetricsService data go. */
const ingestLayers = <ES, EL, EP>(
  analyzers: AnalyzerLayers,
  outputs: {
    readonly sink: Layer.Layer<AggregateSink, ES, IdentityResolver>
    readonly logStore: Layer.Layer<ErrorLogStore, EL>
    readonly proxyMetrics: Layer.Layer<ProxyMetricStore, EP>
  }
) => {
  const identity = chainLayer.pipe(Layer.provide(analyzers), Layer.provide(budget))
  const aggregator = AggregatorToSink.pipe(Layer.provide([outputs.sink.pipe(Layer.provide(identity)), budget]))
  const endpointNaming = EndpointNamingLive.pipe(Layer.provide(budget))
  const errorLogs = ErrorLogsLive.pipe(Layer.provide([outputs.logStore, endpointNaming]))
  // The Istio-standard export sees the same records as the aggregator (built once, shared with /metrics/mesh) and
  // reads the proxies' MetricsService data when scraped.
  const meshExport = MeshExportLive.pipe(Layer.provide(outputs.proxyMetrics))
  const grpc = GrpcServerLive.pipe(
    Layer.provide([
      AlsPipelineLive.pipe(Layer.provide([identity, aggregator, endpointNaming, errorLogs, meshExport, budget])),
      MetricsPipelineLive.pipe(Layer.provide([outputs.proxyMetrics, budget]))
    ])
  )
  return { identity, aggregator, meshExport, grpc }
}

/** The app with the given analyzers' Layers (`main-analyzers.ts` picks them from the configuration). */
export const makeAppLayer = (analyzers: AnalyzerLayers) => {
  const store = MemoryStore.layerConfig.pipe(Layer.provide(budget))
  const proxyMetrics = ProxyMetricStoreLive
  const logStore = ErrorLogStoreLive
  const { identity, aggregator, meshExport, grpc } = ingestLayers(analyzers, {
    sink: StoreSinkLive.pipe(Layer.provide([store, budget])),
    logStore,
    proxyMetrics
  })
  const query = QueryServiceLive.pipe(Layer.provide(store))
  // Built in this order and torn down in reverse: HTTP stops first, then gRPC drains its streams, then the
  // aggregator flushes what they left into the store (and the error-log store writes out its queue).
  const app = HttpServerLive.pipe(
    Layer.provideMerge(Layer.mergeAll(grpc, query, identity, aggregator, store, proxyMetrics, logStore, meshExport, budget))
  )
  return MemoryBudgetLog.pipe(Layer.provideMerge(app))
}

/** A worker process (MESHSIGHT_WORKERS > 1): gRPC and the pipeline; its flushes go to the primary. */
export const makeWorkerLayer = (analyzers: AnalyzerLayers) => {
  const outbox = OutboxLive
  const proxyMetrics = ForwardedProxyMetricsLive.pipe(Layer.provide(outbox))
  const { identity, aggregator, meshExport, grpc } = ingestLayers(analyzers, {
    sink: PrimarySinkLive.pipe(Layer.provide([outbox, budget])),
    logStore: ForwardedErrorLogsLive.pipe(Layer.provide(outbox)),
    proxyMetrics
  })
  // Torn down in reverse: gRPC drains its streams, then the aggregator's final flush goes to the primary.
  return Layer.mergeAll(ReportListening, AnswerSeriesRequests).pipe(
    Layer.provideMerge(Layer.mergeAll(grpc, identity, aggregator, meshExport, budget))
  )
}

/** The primary process (MESHSIGHT_WORKERS > 1): the workers, the one store, query and HTTP. */
export const makePrimaryLayer = () => {
  const store = MemoryStore.layerConfig.pipe(Layer.provide(budget))
  const proxyMetrics = ProxyMetricStoreLive
  const logStore = ErrorLogStoreLive
  const workers = WorkersLive.pipe(
    Layer.provide([StoreSinkLive.pipe(Layer.provide([store, budget])), store, budget, proxyMetrics, logStore])
  )
  const query = QueryServiceLive.pipe(Layer.provide(store))
  const meshExport = ClusterMeshExport.pipe(Layer.provide([workers, proxyMetrics]))
  // Torn down in reverse: HTTP stops first, then the workers drain and send their final flushes into the store.
  const app = HttpServerLive.pipe(Layer.provideMerge(Layer.mergeAll(workers, query, store, proxyMetrics, logStore, meshExport, budget)))
  return MemoryBudgetLog.pipe(Layer.provideMerge(app))
}
