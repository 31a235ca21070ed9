// The pipeline's stages composed as Layers: ingest → (pipeline/: decode → identify → analyze) → aggregate → store
// → query / HTTP, with the Istio-standard export and the error logs beside the aggregator and the memory budget
// under them all. Swapping a stage means passing another Layer here; `main.ts` picks the analyzers.
// With MESHSIGHT_WORKERS > 1 the same ingest runs in each worker process (makeWorkerLayer), handing what it
// aggregates to the primary (makePrimaryLayer), which holds the store and serves HTTP (src/workers/).
import { Effect, Layer } from "effect"
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
import { IdleCollectionLive } from "./memory/idle-collection.ts"
import { type ProxyMetricStore, ProxyMetricStoreLive } from "./proxy-metrics/proxy-metric-store.ts"
import { ProxyMinuteWriterStoreLive } from "./export/proxy-minute-writer.ts"
import { MinuteWriterStoreLive } from "./export/minute-writer.ts"
import { ProxyQueryLive } from "./query/proxy-query-service.ts"
import { QueryServiceLive } from "./query/query-service.ts"
import { TsdbProxyQueryLive } from "./query/tsdb-proxy-query.ts"
import { TsdbQueryServiceLive } from "./query/tsdb-query.ts"
import * as MemoryStore from "./store/metric-store.ts"
import { storageMode } from "./store/storage-mode.ts"
import { settingConfig } from "./util/setting.ts"
import { AnswerSeriesRequests, ClusterMeshExport } from "./workers/mesh-export-relay.ts"
import { WorkersLive } from "./workers/primary.ts"
import { ForwardedErrorLogsLive, ForwardedProxyMetricsLive, OutboxLive, PrimarySinkLive, ReportListening } from "./workers/worker.ts"

const budget = MemoryBudgetLive
/** What a process that holds the store runs beside its stages: the budget's start-up line and the idle collection. */
const memoryHousekeeping = Layer.mergeAll(MemoryBudgetLog, IdleCollectionLive)

/**
 * Storage mode `memory` keeps the minutes in this process and answers from them; `prometheus` writes each minute
 * to the TSDB and answers from PromQL (docs/scale-out.md). The same holds for the proxies' MetricsService minutes.
 */
const storageLayers = (mode: "memory" | "prometheus") =>
  mode === "memory"
    ? { store: MemoryStore.layerConfig, query: QueryServiceLive, proxyStore: ProxyMetricStoreLive, proxyQuery: ProxyQueryLive }
    : { store: MinuteWriterStoreLive, query: TsdbQueryServiceLive, proxyStore: ProxyMinuteWriterStoreLive, proxyQuery: TsdbProxyQueryLive }

/** The process that holds the store and answers queries, built for the configured storage mode. */
const withStorage = <A, E, R>(make: (layers: ReturnType<typeof storageLayers>) => Layer.Layer<A, E, R>) =>
  Layer.unwrap(
    Effect.gen(function* () {
      return make(storageLayers(yield* settingConfig(storageMode)))
    })
  )

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
export const makeAppLayer = (analyzers: AnalyzerLayers) =>
  withStorage((layers) => {
    const store = layers.store.pipe(Layer.provide(budget))
    const proxyMetrics = layers.proxyStore
    const logStore = ErrorLogStoreLive
    const { identity, aggregator, meshExport, grpc } = ingestLayers(analyzers, {
      sink: StoreSinkLive.pipe(Layer.provide([store, budget])),
      logStore,
      proxyMetrics
    })
    const query = layers.query.pipe(Layer.provide(store))
    const proxyQuery = layers.proxyQuery.pipe(Layer.provide(proxyMetrics))
    // Built in this order and torn down in reverse: HTTP stops first, then gRPC drains its streams, then the
    // aggregator flushes what they left into the store (and the error-log store writes out its queue).
    const app = HttpServerLive.pipe(
      Layer.provideMerge(Layer.mergeAll(grpc, query, proxyQuery, identity, aggregator, store, proxyMetrics, logStore, meshExport, budget))
    )
    return memoryHousekeeping.pipe(Layer.provideMerge(app))
  })

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
  return Layer.mergeAll(ReportListening, AnswerSeriesRequests, IdleCollectionLive).pipe(
    Layer.provideMerge(Layer.mergeAll(grpc, identity, aggregator, meshExport, budget))
  )
}

/** The primary process (MESHSIGHT_WORKERS > 1): the workers, the one store, query and HTTP. */
export const makePrimaryLayer = () =>
  withStorage((layers) => {
    const store = layers.store.pipe(Layer.provide(budget))
    const proxyMetrics = layers.proxyStore
    const logStore = ErrorLogStoreLive
    const workers = WorkersLive.pipe(
      Layer.provide([StoreSinkLive.pipe(Layer.provide([store, budget])), store, budget, proxyMetrics, logStore])
    )
    const query = layers.query.pipe(Layer.provide(store))
    const proxyQuery = layers.proxyQuery.pipe(Layer.provide(proxyMetrics))
    const meshExport = ClusterMeshExport.pipe(Layer.provide([workers, proxyMetrics]))
    // Torn down in reverse: HTTP stops first, then the workers drain and send their final flushes into the store.
    const app = HttpServerLive.pipe(
      Layer.provideMerge(Layer.mergeAll(workers, query, proxyQuery, store, proxyMetrics, logStore, meshExport, budget))
    )
    return memoryHousekeeping.pipe(Layer.provideMerge(app))
  })
