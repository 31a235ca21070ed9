// A service's dashboard: golden signals over time, instances, endpoints, status codes and its neighbours.
import { api, type Edge, type MetricSummary, type NamedMetrics, type ProxyHealthList } from "./api.ts"
import { h } from "./dom.ts"
import { fmtCount, fmtCpm, fmtMiB, fmtMs, fmtPct } from "./format.ts"
import { hook } from "./hook.ts"
import { addErrorsTab } from "./errors-view.ts"
import { edgeMetrics, namedMetricColumns, signalCards, signalCharts, statusCodeRows } from "./metrics.ts"
import { type Column, sortableTable } from "./table.ts"
import type { View, ViewContext } from "./view.ts"

const section = (title: string, ...content: Array<Node>) => h("section", { class: "panel" }, h("h3", {}, title), ...content)

export const serviceView = (ctx: ViewContext, service: string): View => {
  const neighbourTable = (id: string, edges: ReadonlyArray<Edge>, peer: (e: Edge) => string) =>
    sortableTable(id, [
      { title: "Service", cell: (e) => h("a", { href: ctx.link({ view: "service", service: peer(e) }) }, peer(e)), sortBy: peer },
      { title: "Calls / min", cell: (e) => fmtCpm(edgeMetrics(e)?.cpm), sortBy: (e) => edgeMetrics(e)?.cpm ?? 0 },
      { title: "Avg latency", cell: (e) => fmtMs(edgeMetrics(e)?.respTimeMs), sortBy: (e) => edgeMetrics(e)?.respTimeMs ?? 0 },
      { title: "Success rate", cell: (e) => fmtPct(edgeMetrics(e)?.sla), sortBy: (e) => edgeMetrics(e)?.sla ?? 0 },
      { title: "", cell: (e) => h("a", { href: ctx.link({ view: "relation", source: e.source, target: e.target }) }, "relation") }
    ], edges, { column: 1, descending: true })

  const statusCodes = (m: MetricSummary | null) =>
    m === null
      ? h("p", { class: "muted" }, "No server-side calls.")
      : sortableTable("status-codes", [
        { title: "Status", cell: (r) => r.code, sortBy: (r) => r.code },
        { title: "Calls", cell: (r) => fmtCount(r.count), sortBy: (r) => r.count },
        { title: "Share", cell: (r) => fmtPct(r.share), sortBy: (r) => r.share }
      ], statusCodeRows(m), { column: 1, descending: true })

  /** The instance columns plus its proxy's health (Envoy MetricsService), linking to the instance's proxy view. */
  const instanceColumns = (proxies: ProxyHealthList): ReadonlyArray<Column<NamedMetrics>> => {
    const byInstance = new Map(proxies.instances.map((p) => [p.instance, p]))
    const proxyLink = (name: string, text: string, cls?: string) =>
      h("a", { href: ctx.link({ view: "instance", service, instance: name }), class: cls }, text)
    const [name, ...rest] = namedMetricColumns("Instance")
    return [
      { ...name!, cell: (r) => (byInstance.has(r.name) ? proxyLink(r.name, r.name) : r.name) },
      ...rest,
      {
        title: "Proxy health",
        cell: (r) => {
          const p = byInstance.get(r.name)
          if (p === undefined) return "—"
          const bad = p.unhealthyClusters.length
          return proxyLink(r.name, `${bad === 0 ? "healthy" : `${bad} of ${p.clusters} clusters without healthy hosts`} · heap ${fmtMiB(p.heapMemoryUsed)}`, bad === 0 ? "healthy" : "critical")
        },
        sortBy: (r) => byInstance.get(r.name)?.unhealthyClusters.length ?? -1
      }
    ]
  }

  const refresh = async () => {
    const range = ctx.params.range
    const [series, instances, endpoints, neighbourhood, proxies] = await Promise.all([
      api.serviceSeries(service, range),
      api.instances(service, range),
      api.endpoints(service, range),
      api.serviceTopology(service, range),
      api.proxies(service, range)
    ])
    const self = neighbourhood.nodes.find((n) => n.name === service)
    const metrics = self?.metrics ?? null
    const charts = h("div", { class: "charts" })
    hook.charts = []
    ctx.root.replaceChildren(
      h("div", { class: "title" },
        h("a", { href: ctx.link({ view: "topology" }) }, "← Topology"),
        h("h2", { id: "service-name" }, service),
        self ? h("span", { class: "muted" }, `namespace ${self.namespace}`) : null),
      metrics ? signalCards(metrics) : h("p", { class: "muted" }, "This service reported no server-side calls in this range: it only calls others."),
      charts,
      h("div", { class: "grid" },
        section("Instances", sortableTable("instances", instanceColumns(proxies), instances.instances, { column: 1, descending: true })),
        section("Endpoints", sortableTable("endpoints", namedMetricColumns("Endpoint"), endpoints.endpoints, { column: 1, descending: true })),
        section("Top status codes", statusCodes(metrics)),
        section("Upstream (callers)", neighbourTable("upstream", neighbourhood.edges.filter((e) => e.target === service), (e) => e.source)),
        section("Downstream (callees)", neighbourTable("downstream", neighbourhood.edges.filter((e) => e.source === service), (e) => e.target)))
    )
    signalCharts(charts, [{ label: service, series }])
    addErrorsTab(ctx.root, [{ service }], range)
    return "ready" as const
  }

  return { refresh, destroy: () => {} }
}
