// /metrics/mesh: the Istio-standard series in Prometheus' text format 0.0.4, or OpenMetrics 1.0 when the scraper
// asks for it, and after them the proxies' SkyWalking-named gauges (proxy-series.ts). No timestamps (as Envoy's
// own endpoint): the scrape time is the sample time.
import { escapeLabelValue } from "./istio-labels.ts"
import {
  HISTOGRAM_SLOTS,
  HTTP_DURATION,
  HTTP_REQUEST_BYTES,
  HTTP_REQUESTS,
  HTTP_RESPONSE_BYTES,
  ISTIO_BUCKETS,
  type MeshSeries,
  TCP_CLOSED,
  TCP_OPENED,
  TCP_RECEIVED,
  TCP_SENT
} from "./mesh-series.ts"
import type { GaugeFamily } from "./proxy-series.ts"

export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"

interface Family {
  /** The family name; counters' samples add `_total`. */
  readonly name: string
  readonly type: "counter" | "histogram"
  readonly help: string
  readonly kind: MeshSeries["kind"]
  /** Index of the value (counter) or of the histogram's first slot. */
  readonly at: number
}

export const FAMILIES: ReadonlyArray<Family> = [
  { name: "istio_requests", type: "counter", help: "Requests, as Istio's proxies count them", kind: "http", at: HTTP_REQUESTS },
  {
    name: "istio_request_duration_milliseconds",
    type: "histogram",
    help: "Request duration in milliseconds",
    kind: "http",
    at: HTTP_DURATION
  },
  {
    name: "istio_request_bytes",
    type: "histogram",
    help: "HTTP request size (headers and body) in bytes",
    kind: "http",
    at: HTTP_REQUEST_BYTES
  },
  {
    name: "istio_response_bytes",
    type: "histogram",
    help: "HTTP response size (headers and body) in bytes",
    kind: "http",
    at: HTTP_RESPONSE_BYTES
  },
  { name: "istio_tcp_sent_bytes", type: "counter", help: "Bytes sent to the downstream of TCP connections", kind: "tcp", at: TCP_SENT },
  {
    name: "istio_tcp_received_bytes",
    type: "counter",
    help: "Bytes received from the downstream of TCP connections",
    kind: "tcp",
    at: TCP_RECEIVED
  },
  { name: "istio_tcp_connections_opened", type: "counter", help: "TCP connections opened", kind: "tcp", at: TCP_OPENED },
  { name: "istio_tcp_connections_closed", type: "counter", help: "TCP connections closed", kind: "tcp", at: TCP_CLOSED }
]

/** The `le` values as Prometheus writes them, and `+Inf`. */
export const LE_TEXTS: ReadonlyArray<string> = [...ISTIO_BUCKETS.map(String), "+Inf"]

/** Whether the count slot of a histogram is non-zero: size histograms are only observed where entries had sizes. */
export const histogramObserved = (s: MeshSeries, at: number) => s.values[at + HISTOGRAM_SLOTS - 1] > 0

/** Wants OpenMetrics when the Accept header names it (Prometheus ≥ 2.5 does by default). */
export const wantsOpenMetrics = (accept: string | undefined) => accept?.includes("application/openmetrics-text") === true

export const renderExposition = (series: Iterable<MeshSeries>, openMetrics: boolean, gauges: ReadonlyArray<GaugeFamily> = []): string => {
  const all = [...series]
  const out: Array<string> = []
  for (const f of FAMILIES) {
    const sampleName = f.type === "counter" ? `${f.name}_total` : f.name
    out.push(`# HELP ${openMetrics ? f.name : sampleName} ${f.help}.\n# TYPE ${openMetrics ? f.name : sampleName} ${f.type}\n`)
    for (const s of all) {
      if (s.kind !== f.kind) continue
      const v = s.values
      const labels = s.labelText
      if (f.type === "counter") {
        out.push(`${sampleName}{${labels}} ${v[f.at]}\n`)
        continue
      }
      if (!histogramObserved(s, f.at)) continue
      let cumulative = 0
      for (let b = 0; b < LE_TEXTS.length; b++) {
        cumulative += v[f.at + b]
        out.push(`${f.name}_bucket{${labels},le="${LE_TEXTS[b]}"} ${cumulative}\n`)
      }
      out.push(`${f.name}_sum{${labels}} ${v[f.at + LE_TEXTS.length]}\n${f.name}_count{${labels}} ${cumulative}\n`)
    }
  }
  for (const g of gauges) {
    out.push(`# HELP ${g.name} ${g.help}.\n# TYPE ${g.name} gauge\n`)
    for (const { pairs, value } of g.samples) {
      out.push(`${g.name}{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}} ${value}\n`)
    }
  }
  if (openMetrics) out.push("# EOF\n")
  return out.join("")
}
