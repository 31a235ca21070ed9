// The pipeline's stages composed as Layers: ingest → (pipeline/: decode → identify → analyze) → aggregate → store
// → query / HTTP, with the Istio-standard export and the error logs beside the aggregator and the memory budget
// under them all. Swapping a stage means passing another Layer here; `main.ts` picks the analyzers.
import { Effect, Layer } from "effect"
import { AggregatorLive } from "./aggregation/aggregator.ts"
import { EndpointNamingLive } from "./analysis/endpoint-names.ts"
import { ErrorLogsLive, ErrorLogStoreLive } from "./error-logs/error-logs.ts"
import { MeshExportLive } from "./export/mesh-export.ts"
import { HttpServerLive } from "./http/http-server.ts"
import { type AnalyzerLayers, chainLayer } from "./identity/chain.ts"
import { AlsPipelineLive } from "./pipeline/als-pipeline.ts"
import { GrpcServerLive } from "./ingest/grpc-server.ts"
import { MetricsPipelineLive } from "./pipeline/metrics-pipeline.ts"
import { MemoryBudgetLive, MemoryBudgetLog } from "./memory/budget.ts"
import { ProxyMetricStoreLive } from "./proxy-metrics/proxy-metric-store.ts"
import { ProxyMinuteWriterStoreLive } from "./export/proxy-minute-writer.ts"
import { ProxyQueryLive } from "./query/proxy-query-service.ts"
import { TsdbProxyQueryLive } from "./query/tsdb-proxy-query.ts"
import { QueryServiceLive } from "./query/query-service.ts"
import * as MemoryStore from "./store/metric-store.ts"
import { storageMode } from "./store/storage-mode.ts"
import { MinuteWriterStoreLive } from "./export/minute-writer.ts"
import { TsdbQueryServiceLive } from "./query/tsdb-query.ts"
import { settingConfig } from "./util/setting.ts"

/** The app with the given analyzers' Layers (`main-analyzers.ts` picks them from the configuration). */
export const makeAppLayer = (analyzers: AnalyzerLayers) =>
  Layer.unwrap(
    Effect.gen(function* () {
      return appLayer(analyzers, yield* settingConfig(storageMode))
    })
  )

/**
 * Storage mode `memory` keeps the minutes in this process and answers from them; `prometheus` writes each minute
 * to the TSDB and answers from PromQL (docs/scale-out.md). The same holds for the proxies' MetricsService minutes.
 */
const storageLayers = (mode: "memory" | "prometheus") =>
  mode === "memory"
    ? { store: MemoryStore.layerConfig, query: QueryServiceLive, proxyStore: ProxyMetricStoreLive, proxyQuery: ProxyQueryLive }
    : { store: MinuteWriterStoreLive, query: TsdbQueryServiceLive, proxyStore: ProxyMinuteWriterStoreLive, proxyQuery: TsdbProxyQueryLive }

const appLayer = (analyzers: AnalyzerLayers, mode: "memory" | "prometheus") => {
  const budget = MemoryBudgetLive
  const layers = storageLayers(mode)
  const store = layers.store.pipe(Layer.provide(budget))
  const aggregator = AggregatorLive.pipe(Layer.provide([store, budget]))
  const identity = chainLayer.pipe(Layer.provide(analyzers), Layer.provide(budget))
  const proxyMetrics = layers.proxyStore
  const endpointNaming = EndpointNamingLive.pipe(Layer.provide(budget))
  const logStore = ErrorLogStoreLive
  const errorLogs = ErrorLogsLive.pipe(Layer.provide([logStore, endpointNaming]))
  // The Istio-standard export sees the same records as the aggregator (built once, shared with /metrics/mesh) and
  // reads the proxies' MetricsService data when scraped.
  const meshExport = MeshExportLive.pipe(Layer.provide(proxyMetrics))
  const grpc = GrpcServerLive.pipe(
    Layer.provide([
      AlsPipelineLive.pipe(Layer.provide([identity, aggregator, endpointNaming, errorLogs, meshExport, budget])),
      MetricsPipelineLive.pipe(Layer.provide([proxyMetrics, budget]))
    ])
  )
  const query = layers.query.pipe(Layer.provide(store))
  const proxyQuery = layers.proxyQuery.pipe(Layer.provide(proxyMetrics))
  // Built in this order and torn down in reverse: HTTP stops first, then gRPC drains its streams, then the
  // aggregator flushes what they left into the store (and the error-log store writes out its queue).
  const app = HttpServerLive.pipe(
    Layer.provideMerge(Layer.mergeAll(grpc, query, proxyQuery, identity, aggregator, store, proxyMetrics, logStore, meshExport, budget))
  )
  return MemoryBudgetLog.pipe(Layer.provideMerge(app))
}
