// A service's dashboard: its figures and charts (requests and TCP), instances, endpoints, status codes and its
// neighbours.
import { api, type Edge, type MetricSummary } from "./api.ts"
import { h } from "./dom.ts"
import { fmtBytesPerSec, fmtCount, fmtCpm, fmtMs, fmtPct } from "./format.ts"
import { hook } from "./hook.ts"
import { countRows, edgeMetrics, hasCalls, hasTcp, namedMetricColumns, signalCards, signalCharts, tcpBytesPerMin } from "./metrics.ts"
import { sortableTable } from "./table.ts"
import type { View, ViewContext } from "./view.ts"

export const section = (title: string, ...content: Array<Node>) => h("section", { class: "panel" }, h("h3", {}, title), ...content)

/** Status codes or response flags with their counts and share of `of`. */
export const countTable = (id: string, title: string, counts: Readonly<Record<string, number>>, of: number) =>
  sortableTable(id, [
    { title, cell: (r) => r.code, sortBy: (r) => r.code },
    { title: "Count", cell: (r) => fmtCount(r.count), sortBy: (r) => r.count },
    { title: "Share", cell: (r) => fmtPct(r.share), sortBy: (r) => r.share }
  ], countRows(counts, of), { column: 1, descending: true })

export const serviceView = (ctx: ViewContext, service: string): View => {
  const neighbourTable = (id: string, edges: ReadonlyArray<Edge>, peer: (e: Edge) => string) => {
    const m = (e: Edge) => edgeMetrics(e)
    const tcp = edges.some((e) => hasTcp(m(e)))
    return sortableTable(id, [
      { title: "Service", cell: (e) => h("a", { href: ctx.link({ view: "service", service: peer(e) }) }, peer(e)), sortBy: peer },
      { title: "Calls / min", cell: (e) => (hasCalls(m(e)) ? fmtCpm(m(e)!.cpm) : "—"), sortBy: (e) => m(e)?.cpm ?? 0 },
      { title: "Avg latency", cell: (e) => (hasCalls(m(e)) ? fmtMs(m(e)!.respTimeMs) : "—"), sortBy: (e) => m(e)?.respTimeMs ?? 0 },
      { title: "Success rate", cell: (e) => (hasCalls(m(e)) ? fmtPct(m(e)!.sla) : "—"), sortBy: (e) => m(e)?.sla ?? 0 },
      ...(tcp ? [{ title: "TCP", cell: (e: Edge) => (hasTcp(m(e)) ? fmtBytesPerSec(tcpBytesPerMin(m(e)!)) : "—"), sortBy: (e: Edge) => (m(e) ? tcpBytesPerMin(m(e)!) : 0) }] : []),
      { title: "", cell: (e) => h("a", { href: ctx.link({ view: "relation", source: e.source, target: e.target }) }, "relation") }
    ], edges, { column: 1, descending: true })
  }

  const statusCodes = (m: MetricSummary | null) =>
    hasCalls(m) ? countTable("status-codes", "Status", m.statusCodes, m.calls) : h("p", { class: "muted" }, "No server-side calls.")

  const refresh = async () => {
    const range = ctx.params.range
    const [series, instances, endpoints, neighbourhood] = await Promise.all([
      api.serviceSeries(service, range),
      api.instances(service, range),
      api.endpoints(service, range),
      api.serviceTopology(service, range)
    ])
    const self = neighbourhood.nodes.find((n) => n.name === service)
    const metrics = self?.metrics ?? null
    const charts = h("div", { class: "charts" })
    hook.charts = []
    const instanceLink = (name: string) => h("a", { href: ctx.link({ view: "instance", service, instance: name }) }, name)
    const tcpInstances = instances.instances.some((i) => hasTcp(i.metrics))
    ctx.root.replaceChildren(
      h("div", { class: "title" },
        h("a", { href: ctx.link({ view: "topology" }) }, "← Topology"),
        h("h2", { id: "service-name" }, service),
        self ? h("span", { class: "muted" }, `namespace ${self.namespace}`) : null),
      metrics ? signalCards(metrics) : h("p", { class: "muted" }, "This service reported no server-side traffic in this range: it only calls others."),
      charts,
      h("div", { class: "grid" },
        section("Instances", sortableTable("instances", namedMetricColumns("Instance", (r) => instanceLink(r.name), tcpInstances), instances.instances, { column: 1, descending: true })),
        section("Endpoints", sortableTable("endpoints", namedMetricColumns("Endpoint", (r) => r.name, false), endpoints.endpoints, { column: 1, descending: true })),
        section("Top status codes", statusCodes(metrics)),
        ...(metrics && Object.keys(metrics.responseFlags).length > 0
          ? [section("Response flags", countTable("response-flags", "Flag", metrics.responseFlags, metrics.calls + metrics.connections))]
          : []),
        section("Upstream (callers)", neighbourTable("upstream", neighbourhood.edges.filter((e) => e.target === service), (e) => e.source)),
        section("Downstream (callees)", neighbourTable("downstream", neighbourhood.edges.filter((e) => e.source === service), (e) => e.target)))
    )
    signalCharts(charts, [{ label: service, series, summary: metrics }])
    return "ready" as const
  }

  return { refresh, destroy: () => {} }
}
