// Domain models of what meshsight reads from Envoy's MetricsService: Prometheus client-model metric families
// (proto/io/prometheus/client/metrics.proto). These Schemas are the single definition of the types; the wire codec
// (src/protocol/metrics-codec.ts) builds values of exactly these shapes.
import { Schema } from "effect"
import { EntryRejection, NodeInfo } from "./access-log.ts"

/** io.prometheus.client.MetricType by number (0–4); Envoy sends COUNTER, GAUGE, SUMMARY or HISTOGRAM. */
export const METRIC_TYPES = ["COUNTER", "GAUGE", "SUMMARY", "UNTYPED", "HISTOGRAM"] as const
export const MetricType = Schema.Literals(METRIC_TYPES)
export type MetricType = typeof MetricType.Type

export const LabelPair = Schema.Struct({ name: Schema.String, value: Schema.String })
export type LabelPair = typeof LabelPair.Type

export const Bucket = Schema.Struct({ cumulativeCount: Schema.Number, upperBound: Schema.Number })
export const Quantile = Schema.Struct({ quantile: Schema.Number, value: Schema.Number })

/** Histogram (HISTOGRAM) or Summary (SUMMARY) of one metric: counts, sum, and buckets or quantiles. */
export const Distribution = Schema.Struct({
  sampleCount: Schema.Number,
  sampleSum: Schema.Number,
  buckets: Schema.Array(Bucket),
  quantiles: Schema.Array(Quantile)
})
export type Distribution = typeof Distribution.Type

export const PromMetric = Schema.Struct({
  labels: Schema.Array(LabelPair),
  /**
   * The counter, gauge or untyped value, whichever the family's type names (`Counter.value`, `Gauge.value`,
   * `Untyped.value`); NaN when the metric carries none (and for SUMMARY / HISTOGRAM families). May be ±Inf or NaN
   * as sent: the rules decide what to do with values that are not finite.
   */
  value: Schema.Number,
  /** The distribution of a SUMMARY or HISTOGRAM family's metric, else undefined. */
  distribution: Schema.UndefinedOr(Distribution),
  /** `timestamp_ms`; 0 when not sent. */
  timestampMs: Schema.Number
})
export type PromMetric = typeof PromMetric.Type

export const MetricFamily = Schema.Struct({
  name: Schema.String,
  type: MetricType,
  metrics: Schema.Array(PromMetric)
})
export type MetricFamily = typeof MetricFamily.Type

/** One StreamMetricsMessage; families that could not be read (malformed, unknown type) are `rejected` by index. */
export const MetricsMessage = Schema.Struct({
  identifier: Schema.UndefinedOr(Schema.Struct({ node: NodeInfo })),
  families: Schema.Array(MetricFamily),
  rejected: Schema.Array(EntryRejection)
})
export type MetricsMessage = typeof MetricsMessage.Type
