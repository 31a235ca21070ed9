// The figures of one summary as the views show them, and the per-minute charts beside them. A range's figure and
// its chart agree by construction: the API's per-minute rates are means over the minutes that have data
// (src/query/api-model.ts), which is what the chart's points average to.
import type { Edge, MetricSummary, NamedMetrics, Series } from "./api.ts"
import { type ChartSeries, lineChart, PALETTE } from "./charts.ts"
import { h } from "./dom.ts"
import { fmtBytes, fmtBytesPerSec, fmtCount, fmtCpm, fmtMs, fmtNs, fmtPct, fmtRatio } from "./format.ts"
import type { Column } from "./table.ts"

/** The side that describes a call best: the server's when it reported, else the client's. */
export const edgeMetrics = (e: Pick<Edge, "client" | "server">): MetricSummary | null => e.server ?? e.client

export const hasCalls = (m: MetricSummary | null | undefined): m is MetricSummary => m !== null && m !== undefined && m.calls > 0
export const hasTcp = (m: MetricSummary | null | undefined): m is MetricSummary => m !== null && m !== undefined && m.connections > 0

/** TCP bytes per minute both ways (what a TCP edge's width and label follow). */
export const tcpBytesPerMin = (m: MetricSummary) => m.receivedBytesPerMin + m.sentBytesPerMin

export interface Signal {
  readonly label: string
  readonly value: (m: MetricSummary) => string
  /** What the figure is, for the card's tooltip and the screen reader. */
  readonly means?: (m: MetricSummary) => string
}

const activeMinutes = (n: number, what: string) => `mean over the ${n} minute${n === 1 ? "" : "s"} of the range with ${what}`

export const HTTP_SIGNALS: ReadonlyArray<Signal> = [
  { label: "Calls / min", value: (m) => fmtCpm(m.cpm), means: (m) => activeMinutes(m.callMinutes, "calls") },
  { label: "Calls", value: (m) => fmtCount(m.calls), means: () => "total in the range" },
  { label: "Avg latency", value: (m) => fmtMs(m.respTimeMs), means: () => "mean over every call of the range" },
  { label: "p50", value: (m) => fmtMs(m.percentiles.p50) },
  { label: "p90", value: (m) => fmtMs(m.percentiles.p90) },
  { label: "p99", value: (m) => fmtMs(m.percentiles.p99) },
  { label: "Success rate", value: (m) => fmtPct(m.sla), means: () => "successful calls / calls over the range" },
  { label: "Apdex", value: (m) => fmtRatio(m.apdex), means: () => "(satisfied + tolerating / 2) / calls, 0–1" }
]

export const TCP_SIGNALS: ReadonlyArray<Signal> = [
  { label: "TCP received", value: (m) => fmtBytesPerSec(m.receivedBytesPerMin), means: (m) => activeMinutes(m.tcpMinutes, "TCP data") },
  { label: "TCP sent", value: (m) => fmtBytesPerSec(m.sentBytesPerMin), means: (m) => activeMinutes(m.tcpMinutes, "TCP data") },
  { label: "Connections / min", value: (m) => fmtCpm(m.connectionsPerMin), means: (m) => activeMinutes(m.tcpMinutes, "TCP data") },
  { label: "Connections", value: (m) => fmtCount(m.connections), means: () => "total in the range" },
  { label: "Bytes received", value: (m) => fmtBytes(m.receivedBytes), means: () => "total in the range" },
  { label: "Bytes sent", value: (m) => fmtBytes(m.sentBytes), means: () => "total in the range" }
]

/** Sidecar internal latencies: the time Envoy itself spent on a request and on its response. */
export const SIDECAR_SIGNALS: ReadonlyArray<Signal> = [
  {
    label: "Sidecar request latency",
    value: (m) => fmtNs(m.sidecarInternalReqLatencyNanos),
    means: () => "mean time the proxy held a request"
  },
  {
    label: "Sidecar response latency",
    value: (m) => fmtNs(m.sidecarInternalRespLatencyNanos),
    means: () => "mean time the proxy held a response"
  }
]

/** The signals that apply to a summary: requests, TCP, or both. */
export const signalsOf = (m: MetricSummary): ReadonlyArray<Signal> => [
  ...(hasCalls(m) ? HTTP_SIGNALS : []),
  ...(hasTcp(m) ? TCP_SIGNALS : [])
]

export const signalCards = (m: MetricSummary) =>
  h(
    "dl",
    { class: "cards" },
    ...signalsOf(m).map((s) => {
      const means = s.means?.(m)
      return h(
        "div",
        { class: "card", "data-signal": s.label, title: means },
        h("dt", {}, s.label),
        h("dd", {}, s.value(m)),
        means ? h("span", { class: "card-means" }, means) : null
      )
    })
  )

/** Counts by key (status codes, response flags), most frequent first. */
export const countRows = (counts: Readonly<Record<string, number>>, of: number) =>
  Object.entries(counts).map(([code, count]) => ({ code, count, share: (count / Math.max(1, of)) * 100 }))

/** Columns for instances and endpoints; `tcp` adds the TCP columns. */
export const namedMetricColumns = (
  nameTitle: string,
  name: (r: NamedMetrics) => Node | string,
  tcp: boolean
): ReadonlyArray<Column<NamedMetrics>> => [
  { title: nameTitle, cell: name, sortBy: (r) => r.name },
  { title: "Calls / min", cell: (r) => (hasCalls(r.metrics) ? fmtCpm(r.metrics.cpm) : "—"), sortBy: (r) => r.metrics.cpm },
  { title: "Avg latency", cell: (r) => (hasCalls(r.metrics) ? fmtMs(r.metrics.respTimeMs) : "—"), sortBy: (r) => r.metrics.respTimeMs },
  { title: "p99", cell: (r) => (hasCalls(r.metrics) ? fmtMs(r.metrics.percentiles.p99) : "—"), sortBy: (r) => r.metrics.percentiles.p99 },
  { title: "Success rate", cell: (r) => (hasCalls(r.metrics) ? fmtPct(r.metrics.sla) : "—"), sortBy: (r) => r.metrics.sla },
  ...(tcp
    ? [
        {
          title: "TCP in",
          cell: (r: NamedMetrics) => fmtBytesPerSec(r.metrics.receivedBytesPerMin),
          sortBy: (r: NamedMetrics) => r.metrics.receivedBytesPerMin
        },
        {
          title: "TCP out",
          cell: (r: NamedMetrics) => fmtBytesPerSec(r.metrics.sentBytesPerMin),
          sortBy: (r: NamedMetrics) => r.metrics.sentBytesPerMin
        },
        {
          title: "Conn / min",
          cell: (r: NamedMetrics) => fmtCpm(r.metrics.connectionsPerMin),
          sortBy: (r: NamedMetrics) => r.metrics.connectionsPerMin
        }
      ]
    : [])
]

export interface ChartSide {
  readonly label: string
  readonly series: Series
  /** The side's figures for the whole range (the legend's default). */
  readonly summary: MetricSummary | null
}

const callValues = (series: Series, pick: (m: MetricSummary) => number | null) =>
  series.points.map((p) => (hasCalls(p.metrics) ? pick(p.metrics) : null))
const tcpValues = (series: Series, pick: (m: MetricSummary) => number) =>
  series.points.map((p) => (hasTcp(p.metrics) ? pick(p.metrics) : null))
const bytesPerSec = (v: number) => `${fmtBytes(v)}/s`

/** The charts of one or more series of the same range (a relation's client and server side): requests, then TCP. */
export const signalCharts = (parent: HTMLElement, sides: ReadonlyArray<ChartSide>) => {
  const times = sides[0]?.series.points.map((p) => p.time) ?? []
  const named = (suffix: string, i: number) => (sides.length > 1 ? `${sides[i]!.label} ${suffix}` : suffix)
  const range = (s: ChartSide, f: (m: MetricSummary) => string) => (s.summary ? f(s.summary) : "—")
  const color = (i: number) => PALETTE[i % PALETTE.length]!
  if (sides.some((s) => s.series.points.some((p) => hasCalls(p.metrics)))) {
    const per = (label: string, pick: (m: MetricSummary) => number | null, whole: (m: MetricSummary) => string): Array<ChartSeries> =>
      sides.map((s, i) => ({ label: named(label, i), color: color(i), values: callValues(s.series, pick), rangeValue: range(s, whole) }))
    lineChart(
      parent,
      "Calls per minute",
      times,
      per(
        "cpm",
        (m) => m.cpm,
        (m) => fmtCpm(m.cpm)
      ),
      { format: fmtCpm }
    )
    const percentile = (k: "p50" | "p90" | "p99") => (m: MetricSummary) => m.percentiles[k]
    const latency: Array<ChartSeries> =
      sides.length > 1
        ? per(
            "avg",
            (m) => m.respTimeMs,
            (m) => fmtMs(m.respTimeMs)
          )
        : [
            { label: "avg", pick: (m: MetricSummary) => m.respTimeMs },
            { label: "p50", pick: percentile("p50") },
            { label: "p90", pick: percentile("p90") },
            { label: "p99", pick: percentile("p99") }
          ].map((k, i) => ({
            label: k.label,
            color: color(i),
            values: callValues(sides[0]!.series, k.pick),
            rangeValue: range(sides[0]!, (m) => fmtMs(k.pick(m)))
          }))
    lineChart(parent, "Latency", times, latency, { format: fmtMs })
    lineChart(
      parent,
      "Success rate",
      times,
      per(
        "success",
        (m) => m.sla,
        (m) => fmtPct(m.sla)
      ),
      { format: fmtPct, yRange: [0, 100] }
    )
    if (sides.some((s) => s.series.points.some((p) => p.metrics?.apdex !== null && p.metrics?.apdex !== undefined))) {
      lineChart(
        parent,
        "Apdex",
        times,
        per(
          "apdex",
          (m) => m.apdex,
          (m) => fmtRatio(m.apdex)
        ),
        { format: (v) => fmtRatio(v), yRange: [0, 1] }
      )
    }
  }
  if (sides.some((s) => s.series.points.some((p) => hasTcp(p.metrics)))) {
    const bytes: Array<ChartSeries> = sides.flatMap((s, i) => [
      {
        label: named("received", i),
        color: color(2 * i),
        values: tcpValues(s.series, (m) => m.receivedBytesPerMin / 60),
        rangeValue: range(s, (m) => fmtBytesPerSec(m.receivedBytesPerMin))
      },
      {
        label: named("sent", i),
        color: color(2 * i + 1),
        values: tcpValues(s.series, (m) => m.sentBytesPerMin / 60),
        rangeValue: range(s, (m) => fmtBytesPerSec(m.sentBytesPerMin))
      }
    ])
    lineChart(parent, "TCP bytes per second", times, bytes, { format: bytesPerSec })
    const connections = sides.map((s, i) => ({
      label: named("connections", i),
      color: color(i),
      values: tcpValues(s.series, (m) => m.connectionsPerMin),
      rangeValue: range(s, (m) => fmtCpm(m.connectionsPerMin))
    }))
    lineChart(parent, "TCP connections per minute", times, connections, { format: fmtCpm })
  }
}
