// The JSON query API's shapes for Envoy MetricsService data (SkyWalking's envoy.yaml / envoy-svc-relation.yaml
// metric names). Times are epoch milliseconds; a range is [start, end) in whole minutes.
import { Schema } from "effect"
import { TimeRange } from "./api-model.ts"

/** One minute's value. */
export const ProxyPoint = Schema.Struct({ time: Schema.Number, value: Schema.Number })

export const ProxyMetric = Schema.Struct({
  /** SkyWalking's name, e.g. `envoy_heap_memory_used`, `envoy_cluster_up_rq_incr`, `envoy_sr_cluster_up_cx_active`. */
  name: Schema.String,
  /** The newest minute's value in the range; null when the range has none. */
  latest: Schema.NullOr(Schema.Number),
  /** Minutes with a value, oldest first (gauges: the minute's last value or max; `_incr`: the minute's increase). */
  series: Schema.Array(ProxyPoint)
})
export type ProxyMetric = typeof ProxyMetric.Type

export const ProxyCluster = Schema.Struct({
  /** SkyWalking's cluster_name: the upstream service (`reviews.default`) or `inbound:PORT…` for the local one. */
  clusterName: Schema.String,
  direction: Schema.Literals(["inbound", "outbound"]),
  metrics: Schema.Array(ProxyMetric)
})
export type ProxyCluster = typeof ProxyCluster.Type

/** GET /api/services/:service/instances/:instance/proxy */
export const ProxyInstance = Schema.Struct({
  range: TimeRange,
  service: Schema.String,
  instance: Schema.String,
  /** When the proxy last sent metrics. */
  lastSeen: Schema.Number,
  metrics: Schema.Array(ProxyMetric),
  clusters: Schema.Array(ProxyCluster)
})
export type ProxyInstance = typeof ProxyInstance.Type

/** GET /api/proxy-relations?source=&target= : client-side relation metrics, summed over the source's proxies. */
export const ProxyRelation = Schema.Struct({
  range: TimeRange,
  source: Schema.String,
  target: Schema.String,
  metrics: Schema.Array(ProxyMetric)
})
export type ProxyRelation = typeof ProxyRelation.Type

/** GET /api/services/:service/proxies : each instance's proxy health at the newest minute in the range. */
export const ProxyHealthItem = Schema.Struct({
  instance: Schema.String,
  lastSeen: Schema.Number,
  heapMemoryUsed: Schema.NullOr(Schema.Number),
  /** Clusters with membership_healthy reported in that minute, and those of them with no healthy host. */
  clusters: Schema.Number,
  unhealthyClusters: Schema.Array(Schema.String)
})
export const ProxyHealthList = Schema.Struct({ range: TimeRange, service: Schema.String, instances: Schema.Array(ProxyHealthItem) })
export type ProxyHealthList = typeof ProxyHealthList.Type
