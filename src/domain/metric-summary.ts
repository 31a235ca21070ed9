// The summary of one entity's metrics over a range or a minute: what SeriesStats (./series-stats.ts) computes and
// the query API (src/query/api-model.ts) serves. Metric names in comments are SkyWalking's, for comparison.
import { Schema } from "effect"

export const Percentiles = Schema.Struct({
  p50: Schema.Number,
  p75: Schema.Number,
  p90: Schema.Number,
  p95: Schema.Number,
  p99: Schema.Number
})

/** Aggregated metrics of one entity over a range (or one minute, in a series). */
export const MetricSummary = Schema.Struct({
  /** HTTP and gRPC requests. TCP connections are counted under `connections` and add only bytes and flags. */
  calls: Schema.Number,
  /** Minutes of the range with at least one call: what `cpm` divides by. */
  callMinutes: Schema.Number,
  /** Calls per minute (`*_cpm`): `calls / callMinutes`, 0 without calls. */
  cpm: Schema.Number,
  /** Average latency in ms (`*_resp_time`). */
  respTimeMs: Schema.Number,
  /** Successful calls / calls × 100 (`*_sla`). */
  sla: Schema.Number,
  /** Latency percentiles in ms (`*_percentile`), from a mergeable log-linear histogram. */
  percentiles: Percentiles,
  /** `service_apdex` as a ratio 0–1; null where SkyWalking keeps none (relations, instances, endpoints). */
  apdex: Schema.NullOr(Schema.Number),
  /** Response status code → count. */
  statusCodes: Schema.Record(Schema.String, Schema.Number),
  /** Envoy response flag (internal error code) → count. */
  responseFlags: Schema.Record(Schema.String, Schema.Number),
  /**
   * TCP bytes over the range (`*_throughput_received` / `*_sent`, `*_received` / `*_sent` on relations), as the
   * proxy that reported counted them: received from its downstream and sent to it.
   */
  receivedBytes: Schema.Number,
  sentBytes: Schema.Number,
  /** TCP connections logged (one ALS TCP entry each). */
  connections: Schema.Number,
  /** Minutes of the range with TCP data: what the `*PerMin` TCP rates divide by. */
  tcpMinutes: Schema.Number,
  /** TCP rates: totals / `tcpMinutes` (0 without TCP data). Bytes per second are these / 60. */
  receivedBytesPerMin: Schema.Number,
  sentBytesPerMin: Schema.Number,
  connectionsPerMin: Schema.Number,
  /** Averages in ns (`*_sidecar_internal_req_latency_nanos`, `*_resp_latency_nanos`); null when never logged. */
  sidecarInternalReqLatencyNanos: Schema.NullOr(Schema.Number),
  sidecarInternalRespLatencyNanos: Schema.NullOr(Schema.Number),
  /** Requests by protocol (HTTP, gRPC) and TCP connections (TCP). */
  protocols: Schema.Record(Schema.String, Schema.Number)
})
export type MetricSummary = typeof MetricSummary.Type
