// One instance (a pod) and its proxy: what the proxy's access logs say about the traffic it served (requests and
// TCP), and, where the proxy sends its stats over Envoy's MetricsService, its own health: memory, connections and
// worker threads over time and every cluster it routes to (SkyWalking's envoy_* metrics, src/query/proxy-model.ts).
import { api, type MetricSummary, type ProxyCluster, type ProxyInstance, type ProxyMetric, type Series } from "./api.ts"
import { lineChart, PALETTE } from "./charts.ts"
import { h } from "./dom.ts"
import { fmtCount, fmtMiB } from "./format.ts"
import { hook } from "./hook.ts"
import { hasCalls, signalCards, signalCharts } from "./metrics.ts"
import { countTable, section } from "./service-view.ts"
import { sortableTable } from "./table.ts"
import type { View, ViewContext } from "./view.ts"

/** What one instance's page is made of: the access-log figures and the proxy's own metrics (null: none sent). */
interface InstanceData {
  readonly metrics: MetricSummary | null
  readonly series: Series
  readonly proxy: ProxyInstance | null
}

const byName = (metrics: ReadonlyArray<ProxyMetric>, name: string) => metrics.find((m) => m.name === name)
const latest = (metrics: ReadonlyArray<ProxyMetric>, name: string) => byName(metrics, name)?.latest ?? undefined
const count = (n: number | null | undefined) => fmtCount(n ?? undefined)

/** A cluster without a healthy host in its newest minute (membership_healthy 0). */
export const unhealthy = (c: ProxyCluster) => latest(c.metrics, "envoy_cluster_membership_healthy") === 0

const proxyCards = (proxy: ProxyInstance) => {
  const m = proxy.metrics
  const cards: ReadonlyArray<readonly [string, string]> = [
    ["Heap used", fmtMiB(latest(m, "envoy_heap_memory_used"))],
    ["Heap max (minute)", fmtMiB(latest(m, "envoy_heap_memory_max_used"))],
    ["Physical memory", fmtMiB(latest(m, "envoy_memory_physical_size"))],
    ["Connections", count(latest(m, "envoy_total_connections_used"))],
    ["Worker threads", count(latest(m, "envoy_worker_threads"))],
    ["Unhealthy clusters", `${proxy.clusters.filter(unhealthy).length} of ${proxy.clusters.length}`]
  ]
  return h(
    "dl",
    { class: "cards proxy-cards" },
    ...cards.map(([label, value]) => h("div", { class: "card" }, h("dt", {}, label), h("dd", {}, value)))
  )
}

const clusterTable = (proxy: ProxyInstance) => {
  const cluster = (c: ProxyCluster, name: string) => latest(c.metrics, name)
  const column = (title: string, name: string) => ({
    title,
    cell: (c: ProxyCluster) => count(cluster(c, name)),
    sortBy: (c: ProxyCluster) => cluster(c, name) ?? -1
  })
  return sortableTable(
    "proxy-clusters",
    [
      {
        title: "Cluster",
        cell: (c) => h("span", { class: unhealthy(c) ? "critical" : undefined }, c.clusterName),
        sortBy: (c) => c.clusterName
      },
      { title: "Direction", cell: (c) => c.direction, sortBy: (c) => c.direction },
      column("Healthy hosts", "envoy_cluster_membership_healthy"),
      column("Active connections", "envoy_cluster_up_cx_active"),
      column("Active requests", "envoy_cluster_up_rq_active"),
      column("Requests / min", "envoy_cluster_up_rq_incr"),
      column("No healthy host / min", "envoy_cluster_up_cx_none_healthy_incr"),
      column("Panic / min", "envoy_cluster_lb_healthy_panic_incr")
    ],
    proxy.clusters,
    { column: 0, descending: false }
  )
}

/** Charts one or more proxy metrics over the range's minutes (a gap where a minute has none). */
const proxyChart = (
  parent: HTMLElement,
  title: string,
  times: ReadonlyArray<number>,
  metrics: ReadonlyArray<ProxyMetric>,
  labels: ReadonlyArray<string>,
  format: (v: number) => string,
  scale = 1
) =>
  lineChart(
    parent,
    title,
    times,
    metrics.map((m, i) => {
      const values = new Map(m.series.map((p) => [p.time, p.value / scale]))
      return {
        label: labels[i]!,
        color: PALETTE[i % PALETTE.length]!,
        values: times.map((t) => values.get(t) ?? null),
        rangeValue: m.latest === null ? "—" : format(m.latest / scale)
      }
    }),
    { format }
  )

const proxyCharts = (parent: HTMLElement, proxy: ProxyInstance) => {
  const times: Array<number> = []
  for (let t = proxy.range.start; t < proxy.range.end; t += 60_000) times.push(t)
  const pick = (...names: Array<string>) => names.flatMap((n) => byName(proxy.metrics, n) ?? [])
  const mib = (v: number) => `${v.toFixed(1)} MiB`
  proxyChart(
    parent,
    "Heap memory (MiB)",
    times,
    pick("envoy_heap_memory_used", "envoy_heap_memory_max_used"),
    ["used", "max"],
    mib,
    1048576
  )
  proxyChart(
    parent,
    "Connections",
    times,
    pick("envoy_total_connections_used", "envoy_parent_connections_used"),
    ["total", "parent"],
    (v) => fmtCount(v)
  )
  const healthy = proxy.clusters.flatMap((c) =>
    c.metrics.filter((x) => x.name === "envoy_cluster_membership_healthy" && x.series.length > 0)
  )
  if (healthy.length > 0) {
    // Healthy hosts summed over the clusters: a dip is a cluster losing hosts.
    const sums = new Map<number, number>()
    for (const x of healthy) for (const p of x.series) sums.set(p.time, (sums.get(p.time) ?? 0) + p.value)
    const values = times.map((t) => sums.get(t) ?? null)
    const last = values.findLast((v) => v !== null)
    lineChart(
      parent,
      "Healthy upstream hosts (all clusters)",
      times,
      [{ label: "healthy", color: PALETTE[1]!, values, rangeValue: last == null ? "—" : fmtCount(last) }],
      { format: (v) => fmtCount(v) }
    )
  }
}

/** A panel across the whole grid: the cluster table has eight columns. */
const wide = (panel: HTMLElement) => {
  panel.classList.add("wide")
  return panel
}

/** Panels below the charts, in order. */
const PANELS: ReadonlyArray<(d: InstanceData) => Node | null> = [
  (d) =>
    hasCalls(d.metrics) ? section("Status codes", countTable("status-codes", "Status", d.metrics.statusCodes, d.metrics.calls)) : null,
  (d) =>
    d.metrics && Object.keys(d.metrics.responseFlags).length > 0
      ? section("Response flags", countTable("response-flags", "Flag", d.metrics.responseFlags, d.metrics.calls + d.metrics.connections))
      : null,
  (d) =>
    d.proxy
      ? wide(section("Proxy clusters (Envoy MetricsService)", clusterTable(d.proxy)))
      : section(
          "Proxy metrics",
          h(
            "p",
            { class: "muted", "data-message": "proxy-metrics" },
            "These figures come from the proxy's access logs. Envoy's own statistics for this proxy appear here when its metrics service points at meshsight (envoyMetricsService in Istio's mesh config)."
          )
        )
]

export const instanceView = (ctx: ViewContext, service: string, instance: string): View => {
  const refresh = async () => {
    const range = ctx.params.range
    const [instances, series, proxy] = await Promise.all([
      api.instances(service, range),
      api.instanceSeries(service, instance, range),
      // 404: this proxy sent no MetricsService data in the range.
      api.proxy(service, instance, range).catch(() => null)
    ])
    const metrics = instances.instances.find((i) => i.name === instance)?.metrics ?? null
    const data: InstanceData = { metrics, series, proxy }
    const charts = h("div", { class: "charts" })
    hook.charts = []
    ctx.root.replaceChildren(
      h(
        "div",
        { class: "title" },
        h("a", { href: ctx.link({ view: "service", service }) }, `← ${service}`),
        h("h2", { id: "instance-name" }, instance),
        h("span", { class: "muted" }, `instance of ${service} · its proxy's access logs${proxy ? " and Envoy MetricsService" : ""}`)
      ),
      metrics
        ? signalCards(metrics)
        : h("p", { class: "state-message", "data-message": "no-calls" }, `${instance} served no traffic in this time range.`),
      ...(proxy ? [proxyCards(proxy)] : []),
      charts,
      h("div", { class: "grid" }, ...PANELS.map((panel) => panel(data)).filter((n): n is Node => n !== null))
    )
    signalCharts(charts, [{ label: instance, series, summary: metrics }])
    if (proxy) proxyCharts(charts, proxy)
    return metrics || proxy ? ("ready" as const) : ("empty" as const)
  }
  return { refresh, destroy: () => {} }
}
