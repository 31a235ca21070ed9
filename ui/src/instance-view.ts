// One instance (a pod) and its proxy: what the proxy's access logs say about the traffic it served (requests and
// TCP). The proxy's own figures (Envoy's MetricsService, GET /api/services/:service/instances/:instance/proxy)
// are not served yet: they go in PROXY_PANELS below, the one place this view lists its panels.
import { api, type MetricSummary, type Series } from "./api.ts"
import { h } from "./dom.ts"
import { hook } from "./hook.ts"
import { hasCalls, signalCards, signalCharts } from "./metrics.ts"
import { countTable, section } from "./service-view.ts"
import type { View, ViewContext } from "./view.ts"

/** What one instance's page is made of: the access-log figures now, the proxy's own metrics later. */
interface InstanceData {
  readonly service: string
  readonly instance: string
  readonly metrics: MetricSummary | null
  readonly series: Series
}

/** Panels below the charts, in order; Envoy's own metrics (MetricsService) are added here as one more entry. */
const PROXY_PANELS: ReadonlyArray<(d: InstanceData) => Node | null> = [
  (d) => (hasCalls(d.metrics) ? section("Status codes", countTable("status-codes", "Status", d.metrics.statusCodes, d.metrics.calls)) : null),
  (d) =>
    d.metrics && Object.keys(d.metrics.responseFlags).length > 0
      ? section("Response flags", countTable("response-flags", "Flag", d.metrics.responseFlags, d.metrics.calls + d.metrics.connections))
      : null,
  () =>
    section("Proxy metrics",
      h("p", { class: "muted", "data-message": "proxy-metrics" },
        "These figures come from the proxy's access logs. Envoy's own statistics for this proxy (from its metrics service) will be shown here once meshsight receives them."))
]

export const instanceView = (ctx: ViewContext, service: string, instance: string): View => {
  const refresh = async () => {
    const range = ctx.params.range
    const [instances, series] = await Promise.all([api.instances(service, range), api.instanceSeries(service, instance, range)])
    const metrics = instances.instances.find((i) => i.name === instance)?.metrics ?? null
    const data: InstanceData = { service, instance, metrics, series }
    const charts = h("div", { class: "charts" })
    hook.charts = []
    ctx.root.replaceChildren(
      h("div", { class: "title" },
        h("a", { href: ctx.link({ view: "service", service }) }, `← ${service}`),
        h("h2", { id: "instance-name" }, instance),
        h("span", { class: "muted" }, `instance of ${service} · its proxy's access logs`)),
      metrics ? signalCards(metrics) : h("p", { class: "state-message", "data-message": "no-calls" }, `${instance} served no traffic in this time range.`),
      charts,
      h("div", { class: "grid" }, ...PROXY_PANELS.map((panel) => panel(data)).filter((n): n is Node => n !== null))
    )
    signalCharts(charts, [{ label: instance, series, summary: metrics }])
    return metrics ? "ready" as const : "empty" as const
  }
  return { refresh, destroy: () => {} }
}
