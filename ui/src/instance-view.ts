// One instance's proxy, from Envoy's MetricsService: memory, connections and worker threads over time, and the
// health of every cluster it routes to (SkyWalking's envoy_* metrics, src/query/proxy-model.ts).
import { api, type ProxyCluster, type ProxyMetric } from "./api.ts"
import { lineChart, PALETTE } from "./charts.ts"
import { h } from "./dom.ts"
import { fmtCount, fmtMiB } from "./format.ts"
import { hook } from "./hook.ts"
import { sortableTable } from "./table.ts"
import type { View, ViewContext } from "./view.ts"

const byName = (metrics: ReadonlyArray<ProxyMetric>, name: string) => metrics.find((m) => m.name === name)
const latest = (metrics: ReadonlyArray<ProxyMetric>, name: string) => byName(metrics, name)?.latest ?? undefined
const count = (n: number | null | undefined) => fmtCount(n ?? undefined)

/** A cluster without a healthy host in its newest minute (membership_healthy 0). */
export const unhealthy = (c: ProxyCluster) => latest(c.metrics, "envoy_cluster_membership_healthy") === 0

/** Charts one or more metrics over the range's minutes (a gap where a minute has none). */
const chart = (parent: HTMLElement, title: string, times: ReadonlyArray<number>, metrics: ReadonlyArray<ProxyMetric>, labels: ReadonlyArray<string>, scale = 1) => {
  lineChart(parent, title, times, metrics.map((m, i) => {
    const values = new Map(m.series.map((p) => [p.time, p.value / scale]))
    return { label: labels[i]!, color: PALETTE[i % PALETTE.length]!, values: times.map((t) => values.get(t) ?? null) }
  }))
}

export const instanceView = (ctx: ViewContext, service: string, instance: string): View => {
  const refresh = async () => {
    const range = ctx.params.range
    const proxy = await api.proxy(service, instance, range)
    const m = proxy.metrics
    const times: Array<number> = []
    for (let t = proxy.range.start; t < proxy.range.end; t += 60_000) times.push(t)
    const charts = h("div", { class: "charts" })
    hook.charts = []
    const cards: ReadonlyArray<readonly [string, string]> = [
      ["Heap used", fmtMiB(latest(m, "envoy_heap_memory_used"))],
      ["Heap max (minute)", fmtMiB(latest(m, "envoy_heap_memory_max_used"))],
      ["Physical memory", fmtMiB(latest(m, "envoy_memory_physical_size"))],
      ["Connections", count(latest(m, "envoy_total_connections_used"))],
      ["Worker threads", count(latest(m, "envoy_worker_threads"))],
      ["Unhealthy clusters", `${proxy.clusters.filter(unhealthy).length} of ${proxy.clusters.length}`]
    ]
    const cluster = (c: ProxyCluster, name: string) => latest(c.metrics, name)
    ctx.root.replaceChildren(
      h("div", { class: "title" },
        h("a", { href: ctx.link({ view: "service", service }) }, `← ${service}`),
        h("h2", { id: "instance-name" }, instance),
        h("span", { class: "muted" }, "proxy (Envoy MetricsService)")),
      h("dl", { class: "cards" }, ...cards.map(([label, value]) => h("div", { class: "card" }, h("dt", {}, label), h("dd", {}, value)))),
      charts,
      h("section", { class: "panel" }, h("h3", {}, "Clusters"),
        sortableTable("proxy-clusters", [
          { title: "Cluster", cell: (c) => h("span", { class: unhealthy(c) ? "critical" : undefined }, c.clusterName), sortBy: (c) => c.clusterName },
          { title: "Direction", cell: (c) => c.direction, sortBy: (c) => c.direction },
          { title: "Healthy hosts", cell: (c) => count(cluster(c, "envoy_cluster_membership_healthy")), sortBy: (c) => cluster(c, "envoy_cluster_membership_healthy") ?? -1 },
          { title: "Active connections", cell: (c) => count(cluster(c, "envoy_cluster_up_cx_active")), sortBy: (c) => cluster(c, "envoy_cluster_up_cx_active") ?? -1 },
          { title: "Active requests", cell: (c) => count(cluster(c, "envoy_cluster_up_rq_active")), sortBy: (c) => cluster(c, "envoy_cluster_up_rq_active") ?? -1 },
          { title: "Requests / min", cell: (c) => count(cluster(c, "envoy_cluster_up_rq_incr")), sortBy: (c) => cluster(c, "envoy_cluster_up_rq_incr") ?? -1 },
          { title: "No healthy host / min", cell: (c) => count(cluster(c, "envoy_cluster_up_cx_none_healthy_incr")), sortBy: (c) => cluster(c, "envoy_cluster_up_cx_none_healthy_incr") ?? -1 },
          { title: "Panic / min", cell: (c) => count(cluster(c, "envoy_cluster_lb_healthy_panic_incr")), sortBy: (c) => cluster(c, "envoy_cluster_lb_healthy_panic_incr") ?? -1 }
        ], proxy.clusters, { column: 0, descending: false }))
    )
    const pick = (...names: Array<string>) => names.flatMap((n) => byName(m, n) ?? [])
    chart(charts, "Heap memory (MiB)", times, pick("envoy_heap_memory_used", "envoy_heap_memory_max_used"), ["used", "max"], 1048576)
    chart(charts, "Connections", times, pick("envoy_total_connections_used", "envoy_parent_connections_used"), ["total", "parent"])
    const healthy = proxy.clusters.flatMap((c) => c.metrics.filter((x) => x.name === "envoy_cluster_membership_healthy" && x.series.length > 0))
    if (healthy.length > 0) {
      // Healthy hosts summed over the clusters: a dip is a cluster losing hosts.
      const sums = new Map<number, number>()
      for (const x of healthy) for (const p of x.series) sums.set(p.time, (sums.get(p.time) ?? 0) + p.value)
      lineChart(charts, "Healthy upstream hosts (all clusters)", times, [{ label: "healthy", color: PALETTE[1]!, values: times.map((t) => sums.get(t) ?? null) }])
    }
    return "ready" as const
  }
  return { refresh, destroy: () => {} }
}
