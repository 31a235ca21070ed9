// StreamMetricsMessage (envoy.service.metrics.v2 and v3 share every field number meshsight reads) → MetricsMessage.
// Field numbers follow proto/envoy/service/metrics/v3/metrics_service.proto and proto/io/prometheus/client/metrics.proto.
import type { EntryRejection, NodeInfo } from "../domain/access-log.ts"
import {
  type Distribution,
  type LabelPair,
  METRIC_TYPES,
  type MetricFamily,
  type MetricsMessage,
  type PromMetric
} from "../domain/metric-family.ts"
import { readNode } from "./als-codec.ts"
import { expectWireType, WireError, WireReader, WireType } from "../util/wire-reader.ts"

const { Varint, Fixed64, Bytes } = WireType

/**
 * Decodes one metrics message. Throws WireError when the envelope itself is malformed; a family that cannot be
 * read (malformed inside, or of a type the client model does not define) is rejected on its own.
 */
export const decodeMetricsMessage = (bytes: Uint8Array): MetricsMessage => {
  const r = new WireReader(bytes)
  let identifier: { node: NodeInfo } | undefined
  const families: Array<MetricFamily> = []
  const rejected: Array<EntryRejection> = []
  let index = 0
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    switch (tag >>> 3) {
      case 1:
        expectWireType(wt, Bytes, "StreamMetricsMessage.identifier")
        identifier = readIdentifier(r.sub())
        break
      case 2: {
        expectWireType(wt, Bytes, "StreamMetricsMessage.envoy_metrics")
        // The family's length is checked against the envelope here; a failure inside it only rejects the family.
        const family = r.sub()
        try {
          families.push(readFamily(family))
        } catch (e) {
          if (!(e instanceof WireError)) throw e
          rejected.push({ index, reason: e.message })
        }
        index++
        break
      }
      default:
        r.skip(wt)
    }
  }
  return { identifier, families, rejected }
}

/** StreamMetricsMessage.Identifier: `node = 1` (v3 config.core.v3.Node, v2 api.v2.core.Node: same numbers). */
const readIdentifier = (r: WireReader): { node: NodeInfo } => {
  let node: NodeInfo = { id: "", cluster: "", metadata: {} }
  while (r.pos < r.end) {
    const tag = r.varint()
    if (tag >>> 3 === 1) {
      expectWireType(tag & 7, Bytes, "Identifier.node")
      node = readNode(r.sub())
    } else r.skip(tag & 7)
  }
  return { node }
}

/** A metric as read, before the family's type (which may come after its metrics on the wire) picks its value. */
interface RawMetric {
  labels: Array<LabelPair>
  gauge: number
  counter: number
  untyped: number
  summary: Distribution | undefined
  histogram: Distribution | undefined
  timestampMs: number
}

/** MetricFamily: name 1, type 3, metric 4 (help 2 and unit 5 are skipped). */
const readFamily = (r: WireReader): MetricFamily => {
  let name = ""
  let typeNumber = 0 // proto2 default: COUNTER
  const raw: Array<RawMetric> = []
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    switch (tag >>> 3) {
      case 1:
        expectWireType(wt, Bytes, "MetricFamily.name")
        name = r.string()
        break
      case 3:
        expectWireType(wt, Varint, "MetricFamily.type")
        typeNumber = r.varint()
        break
      case 4:
        expectWireType(wt, Bytes, "MetricFamily.metric")
        raw.push(readMetric(r.sub()))
        break
      default:
        r.skip(wt)
    }
  }
  const type = METRIC_TYPES[typeNumber]
  if (type === undefined) throw new WireError(`family ${JSON.stringify(name)} has unknown metric type ${typeNumber}`)
  const metrics: Array<PromMetric> = new Array(raw.length)
  for (let i = 0; i < raw.length; i++) {
    const m = raw[i]
    const value = type === "COUNTER" ? m.counter : type === "GAUGE" ? m.gauge : type === "UNTYPED" ? m.untyped : Number.NaN
    const distribution = type === "SUMMARY" ? m.summary : type === "HISTOGRAM" ? m.histogram : undefined
    metrics[i] = { labels: m.labels, value, distribution, timestampMs: m.timestampMs }
  }
  return { name, type, metrics }
}

/** Metric: label 1, gauge 2, counter 3, summary 4, untyped 5, timestamp_ms 6, histogram 7. */
const readMetric = (r: WireReader): RawMetric => {
  const m: RawMetric = {
    labels: [],
    gauge: Number.NaN,
    counter: Number.NaN,
    untyped: Number.NaN,
    summary: undefined,
    histogram: undefined,
    timestampMs: 0
  }
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    switch (tag >>> 3) {
      case 1:
        expectWireType(wt, Bytes, "Metric.label")
        m.labels.push(readLabel(r.sub()))
        break
      case 2:
        expectWireType(wt, Bytes, "Metric.gauge")
        m.gauge = readValue(r.sub(), "Gauge.value")
        break
      case 3:
        expectWireType(wt, Bytes, "Metric.counter")
        m.counter = readValue(r.sub(), "Counter.value")
        break
      case 4:
        expectWireType(wt, Bytes, "Metric.summary")
        m.summary = readDistribution(r.sub(), "Summary")
        break
      case 5:
        expectWireType(wt, Bytes, "Metric.untyped")
        m.untyped = readValue(r.sub(), "Untyped.value")
        break
      case 6:
        expectWireType(wt, Varint, "Metric.timestamp_ms")
        m.timestampMs = r.int64()
        break
      case 7:
        expectWireType(wt, Bytes, "Metric.histogram")
        m.histogram = readDistribution(r.sub(), "Histogram")
        break
      default:
        r.skip(wt)
    }
  }
  return m
}

/** LabelPair: name 1, value 2. */
const readLabel = (r: WireReader): LabelPair => {
  let name = ""
  let value = ""
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    switch (tag >>> 3) {
      case 1:
        expectWireType(wt, Bytes, "LabelPair.name")
        name = r.string()
        break
      case 2:
        expectWireType(wt, Bytes, "LabelPair.value")
        value = r.string()
        break
      default:
        r.skip(wt)
    }
  }
  return { name, value }
}

/** Gauge, Counter and Untyped: `double value = 1`; unset reads as 0 (proto2 default), as the client model says. */
const readValue = (r: WireReader, field: string): number => {
  let value = 0
  while (r.pos < r.end) {
    const tag = r.varint()
    if (tag >>> 3 === 1) {
      expectWireType(tag & 7, Fixed64, field)
      value = r.double()
    } else r.skip(tag & 7)
  }
  return value
}

/**
 * Summary (sample_count 1, sample_sum 2, quantile 3 {quantile 1, value 2}) and Histogram (sample_count 1,
 * sample_sum 2, bucket 3 {cumulative_count 1, upper_bound 2}) share their numbers; field 3 differs only in meaning.
 */
const readDistribution = (r: WireReader, kind: "Summary" | "Histogram"): Distribution => {
  let sampleCount = 0
  let sampleSum = 0
  const buckets: Array<{ cumulativeCount: number; upperBound: number }> = []
  const quantiles: Array<{ quantile: number; value: number }> = []
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    switch (tag >>> 3) {
      case 1:
        expectWireType(wt, Varint, kind, ".sample_count")
        sampleCount = r.varint()
        break
      case 2:
        expectWireType(wt, Fixed64, kind, ".sample_sum")
        sampleSum = r.double()
        break
      case 3: {
        expectWireType(wt, Bytes, kind, kind === "Summary" ? ".quantile" : ".bucket")
        const s = r.sub()
        let first = 0
        let second = 0
        while (s.pos < s.end) {
          const t = s.varint()
          const w = t & 7
          switch (t >>> 3) {
            case 1:
              // Quantile.quantile is a double, Bucket.cumulative_count a uint64.
              if (kind === "Summary") {
                expectWireType(w, Fixed64, "Quantile.quantile")
                first = s.double()
              } else {
                expectWireType(w, Varint, "Bucket.cumulative_count")
                first = s.varint()
              }
              break
            case 2:
              expectWireType(w, Fixed64, kind === "Summary" ? "Quantile.value" : "Bucket.upper_bound")
              second = s.double()
              break
            default:
              s.skip(w)
          }
        }
        if (kind === "Summary") quantiles.push({ quantile: first, value: second })
        else buckets.push({ cumulativeCount: first, upperBound: second })
        break
      }
      default:
        r.skip(wt)
    }
  }
  return { sampleCount, sampleSum, buckets, quantiles }
}
