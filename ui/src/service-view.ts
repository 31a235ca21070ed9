// A service's dashboard: its figures and charts (requests and TCP), instances with their proxies' health,
// endpoints, status codes, its neighbours and its recent errors.
import { api, type Edge, type MetricSummary, type NamedMetrics, type ProxyHealthList } from "./api.ts"
import { h } from "./dom.ts"
import { addErrorsTab } from "./errors-view.ts"
import { fmtBytesPerSec, fmtCount, fmtCpm, fmtMiB, fmtMs, fmtPct } from "./format.ts"
import { hook } from "./hook.ts"
import { countRows, edgeMetrics, hasCalls, hasTcp, namedMetricColumns, signalCards, signalCharts, tcpBytesPerMin } from "./metrics.ts"
import { type Column, sortableTable } from "./table.ts"
import type { View, ViewContext } from "./view.ts"

export const section = (title: string, ...content: Array<Node>) => h("section", { class: "panel" }, h("h3", {}, title), ...content)

/** Status codes or response flags with their counts and share of `of`. */
export const countTable = (id: string, title: string, counts: Readonly<Record<string, number>>, of: number) =>
  sortableTable(
    id,
    [
      { title, cell: (r) => r.code, sortBy: (r) => r.code },
      { title: "Count", cell: (r) => fmtCount(r.count), sortBy: (r) => r.count },
      { title: "Share", cell: (r) => fmtPct(r.share), sortBy: (r) => r.share }
    ],
    countRows(counts, of),
    { column: 1, descending: true }
  )

export const serviceView = (ctx: ViewContext, service: string): View => {
  const neighbourTable = (id: string, edges: ReadonlyArray<Edge>, peer: (e: Edge) => string) => {
    const m = (e: Edge) => edgeMetrics(e)
    const tcp = edges.some((e) => hasTcp(m(e)))
    return sortableTable(
      id,
      [
        { title: "Service", cell: (e) => h("a", { href: ctx.link({ view: "service", service: peer(e) }) }, peer(e)), sortBy: peer },
        { title: "Calls / min", cell: (e) => (hasCalls(m(e)) ? fmtCpm(m(e)!.cpm) : "—"), sortBy: (e) => m(e)?.cpm ?? 0 },
        { title: "Avg latency", cell: (e) => (hasCalls(m(e)) ? fmtMs(m(e)!.respTimeMs) : "—"), sortBy: (e) => m(e)?.respTimeMs ?? 0 },
        { title: "Success rate", cell: (e) => (hasCalls(m(e)) ? fmtPct(m(e)!.sla) : "—"), sortBy: (e) => m(e)?.sla ?? 0 },
        ...(tcp
          ? [
              {
                title: "TCP",
                cell: (e: Edge) => (hasTcp(m(e)) ? fmtBytesPerSec(tcpBytesPerMin(m(e)!)) : "—"),
                sortBy: (e: Edge) => (m(e) ? tcpBytesPerMin(m(e)!) : 0)
              }
            ]
          : []),
        { title: "", cell: (e) => h("a", { href: ctx.link({ view: "relation", source: e.source, target: e.target }) }, "relation") }
      ],
      edges,
      { column: 1, descending: true }
    )
  }

  const statusCodes = (m: MetricSummary | null) =>
    hasCalls(m) ? countTable("status-codes", "Status", m.statusCodes, m.calls) : h("p", { class: "muted" }, "No server-side calls.")

  const instanceLink = (name: string, text = name, cls?: string) =>
    h("a", { href: ctx.link({ view: "instance", service, instance: name }), class: cls }, text)
  /** The instance columns, plus its proxy's health (Envoy MetricsService) where any proxy sends its stats. */
  const instanceColumns = (tcp: boolean, proxies: ProxyHealthList): ReadonlyArray<Column<NamedMetrics>> => {
    const columns = namedMetricColumns("Instance", (r) => instanceLink(r.name), tcp)
    if (proxies.instances.length === 0) return columns
    const byInstance = new Map(proxies.instances.map((p) => [p.instance, p]))
    return [
      ...columns,
      {
        title: "Proxy health",
        cell: (r) => {
          const p = byInstance.get(r.name)
          if (p === undefined) return "—"
          const bad = p.unhealthyClusters.length
          return instanceLink(
            r.name,
            `${bad === 0 ? "healthy" : `${bad} of ${p.clusters} clusters without healthy hosts`} · heap ${fmtMiB(p.heapMemoryUsed)}`,
            bad === 0 ? "healthy" : "critical"
          )
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
    const tcpInstances = instances.instances.some((i) => hasTcp(i.metrics))
    ctx.root.replaceChildren(
      h(
        "div",
        { class: "title" },
        h("a", { href: ctx.link({ view: "topology" }) }, "← Topology"),
        h("h2", { id: "service-name" }, service),
        self ? h("span", { class: "muted" }, `namespace ${self.namespace}`) : null
      ),
      metrics
        ? signalCards(metrics)
        : h("p", { class: "muted" }, "This service reported no server-side traffic in this range: it only calls others."),
      charts,
      h(
        "div",
        { class: "grid" },
        section(
          "Instances",
          sortableTable("instances", instanceColumns(tcpInstances, proxies), instances.instances, { column: 1, descending: true })
        ),
        section(
          "Endpoints",
          sortableTable(
            "endpoints",
            namedMetricColumns("Endpoint", (r) => r.name, false),
            endpoints.endpoints,
            { column: 1, descending: true }
          )
        ),
        section("Top status codes", statusCodes(metrics)),
        ...(metrics && Object.keys(metrics.responseFlags).length > 0
          ? [section("Response flags", countTable("response-flags", "Flag", metrics.responseFlags, metrics.calls + metrics.connections))]
          : []),
        section(
          "Upstream (callers)",
          neighbourTable(
            "upstream",
            neighbourhood.edges.filter((e) => e.target === service),
            (e) => e.source
          )
        ),
        section(
          "Downstream (callees)",
          neighbourTable(
            "downstream",
            neighbourhood.edges.filter((e) => e.source === service),
            (e) => e.target
          )
        )
      )
    )
    signalCharts(charts, [{ label: service, series, summary: metrics }])
    addErrorsTab(ctx.root, [{ service }], range)
    return "ready" as const
  }

  return { refresh, destroy: () => {} }
}
