// The golden signals of one summary as the views show them, and the per-minute series the charts draw.
import type { Edge, MetricSummary, NamedMetrics, Series } from "./api.ts"
import { type ChartSeries, lineChart, PALETTE } from "./charts.ts"
import { h } from "./dom.ts"
import { fmtCount, fmtCpm, fmtMs, fmtPct, fmtRatio } from "./format.ts"
import type { Column } from "./table.ts"

/** The side that describes a call best: the server's when it reported, else the client's. */
export const edgeMetrics = (e: Edge): MetricSummary | null => e.server ?? e.client

export const SIGNALS: ReadonlyArray<{ readonly label: string; readonly value: (m: MetricSummary) => string }> = [
  { label: "Calls / min", value: (m) => fmtCpm(m.cpm) },
  { label: "Calls", value: (m) => fmtCount(m.calls) },
  { label: "Avg latency", value: (m) => fmtMs(m.respTimeMs) },
  { label: "p50", value: (m) => fmtMs(m.percentiles.p50) },
  { label: "p90", value: (m) => fmtMs(m.percentiles.p90) },
  { label: "p99", value: (m) => fmtMs(m.percentiles.p99) },
  { label: "Success rate", value: (m) => fmtPct(m.sla) },
  { label: "Apdex", value: (m) => fmtRatio(m.apdex) }
]

export const signalCards = (m: MetricSummary) =>
  h("dl", { class: "cards" }, ...SIGNALS.map((s) => h("div", { class: "card" }, h("dt", {}, s.label), h("dd", {}, s.value(m)))))

/** Status codes by count, most frequent first. */
export const statusCodeRows = (m: MetricSummary) =>
  Object.entries(m.statusCodes).map(([code, count]) => ({ code, count, share: (count / Math.max(1, m.calls)) * 100 }))

/** Columns for instances and endpoints. */
export const namedMetricColumns = (nameTitle: string): ReadonlyArray<Column<NamedMetrics>> => [
  { title: nameTitle, cell: (r) => r.name, sortBy: (r) => r.name },
  { title: "Calls / min", cell: (r) => fmtCpm(r.metrics.cpm), sortBy: (r) => r.metrics.cpm },
  { title: "Avg latency", cell: (r) => fmtMs(r.metrics.respTimeMs), sortBy: (r) => r.metrics.respTimeMs },
  { title: "p99", cell: (r) => fmtMs(r.metrics.percentiles.p99), sortBy: (r) => r.metrics.percentiles.p99 },
  { title: "Success rate", cell: (r) => fmtPct(r.metrics.sla), sortBy: (r) => r.metrics.sla }
]

const valuesOf = (series: Series, pick: (m: MetricSummary) => number | null) =>
  series.points.map((p) => (p.metrics && p.metrics.calls > 0 ? pick(p.metrics) : null))

/** The golden-signal charts of one or more series of the same range (e.g. a relation's client and server side). */
export const signalCharts = (parent: HTMLElement, sides: ReadonlyArray<{ readonly label: string; readonly series: Series }>) => {
  const times = sides[0]?.series.points.map((p) => p.time) ?? []
  const named = (suffix: string, i: number) => (sides.length > 1 ? `${sides[i]!.label} ${suffix}` : suffix)
  const per = (label: string, pick: (m: MetricSummary) => number | null): Array<ChartSeries> =>
    sides.map((s, i) => ({ label: named(label, i), color: PALETTE[i % PALETTE.length]!, values: valuesOf(s.series, pick) }))
  lineChart(parent, "Calls per minute", times, per("cpm", (m) => m.cpm))
  const latency: Array<ChartSeries> = sides.length > 1
    ? per("avg ms", (m) => m.respTimeMs)
    : (["avg", "p50", "p90", "p99"] as const).map((k, i) => ({
      label: k,
      color: PALETTE[i]!,
      values: valuesOf(sides[0]!.series, (m) => (k === "avg" ? m.respTimeMs : m.percentiles[k]))
    }))
  lineChart(parent, "Latency (ms)", times, latency)
  lineChart(parent, "Success rate (%)", times, per("success %", (m) => m.sla), [0, 100])
  if (sides.some((s) => s.series.points.some((p) => p.metrics?.apdex !== null && p.metrics?.apdex !== undefined))) {
    lineChart(parent, "Apdex", times, per("apdex", (m) => m.apdex), [0, 1])
  }
}
