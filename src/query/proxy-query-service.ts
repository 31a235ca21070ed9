// The query stage for Envoy MetricsService data (shapes in ./proxy-model.ts) as a service with two Layers, picked
// by the storage mode in src/app.ts like QueryService: memory answers from this process's ProxyMetricStore; the
// TSDB's (./tsdb-proxy-query.ts) from the minutes every replica wrote, failing with StorageUnavailable (HTTP 503).
import { Context, Effect, Layer } from "effect"
import { ProxyMetricStore } from "../proxy-metrics/proxy-metric-store.ts"
import type { TimeRange } from "./api-model.ts"
import type { ProxyHealthList, ProxyInstance, ProxyRelation } from "./proxy-model.ts"
import { proxyHealth, proxyInstance, proxyRelation } from "./proxy-query.ts"
import type { StorageUnavailable } from "./query-service.ts"

export interface ProxyQueryShape {
  readonly health: (service: string, range: TimeRange) => Effect.Effect<ProxyHealthList, StorageUnavailable>
  /** `undefined` when the instance sent no metrics within the retention window (or the range). */
  readonly instance: (service: string, instance: string, range: TimeRange) => Effect.Effect<ProxyInstance | undefined, StorageUnavailable>
  /** `undefined` when no proxy of `source` reported the outbound cluster `target` in the range. */
  readonly relation: (source: string, target: string, range: TimeRange) => Effect.Effect<ProxyRelation | undefined, StorageUnavailable>
}

export class ProxyQuery extends Context.Service<ProxyQuery, ProxyQueryShape>()("meshsight/ProxyQuery") {}

export const ProxyQueryLive = Layer.effect(
  ProxyQuery,
  Effect.map(
    ProxyMetricStore,
    (store): ProxyQueryShape => ({
      health: (service, range) => Effect.sync(() => proxyHealth(store, service, range)),
      instance: (service, instance, range) => Effect.sync(() => proxyInstance(store, service, instance, range)),
      relation: (source, target, range) => Effect.sync(() => proxyRelation(store, source, target, range))
    })
  )
)
