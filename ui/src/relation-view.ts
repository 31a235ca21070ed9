// One relation (calls from a service to another): what the client's proxy and the server's proxy each reported.
import { api, type MetricSummary } from "./api.ts"
import { h } from "./dom.ts"
import { addErrorsTab } from "./errors-view.ts"
import { hook } from "./hook.ts"
import { SIGNALS, signalCharts } from "./metrics.ts"
import type { View, ViewContext } from "./view.ts"

const sideCell = (m: MetricSummary | null, value: (m: MetricSummary) => string) => h("td", {}, m ? value(m) : "—")

export const relationView = (ctx: ViewContext, source: string, target: string): View => {
  const refresh = async () => {
    const range = ctx.params.range
    const [neighbourhood, client, server] = await Promise.all([
      api.serviceTopology(source, range),
      api.relationSeries(source, target, "client", range),
      api.relationSeries(source, target, "server", range)
    ])
    const edge = neighbourhood.edges.find((e) => e.source === source && e.target === target)
    const serviceLink = (service: string) => h("a", { href: ctx.link({ view: "service", service }) }, service)
    const charts = h("div", { class: "charts" })
    hook.charts = []
    ctx.root.replaceChildren(
      h("div", { class: "title" },
        h("a", { href: ctx.link({ view: "topology" }) }, "← Topology"),
        h("h2", { id: "relation-name" }, serviceLink(source), " → ", serviceLink(target))),
      edge
        ? h("table", { class: "data", "data-table": "relation" },
          h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", { scope: "col" }, "Client side"), h("th", { scope: "col" }, "Server side"))),
          h("tbody", {}, ...SIGNALS.map((s) => h("tr", {}, h("th", { scope: "row" }, s.label), sideCell(edge.client, s.value), sideCell(edge.server, s.value)))))
        : h("p", { class: "state-message", "data-message": "no-calls" }, `No calls from ${source} to ${target} in this time range.`),
      charts
    )
    if (edge) signalCharts(charts, [{ label: "client", series: client }, { label: "server", series: server }])
    // The client's proxy files its logs under the source, the server's under the target.
    addErrorsTab(ctx.root, [{ service: source, peer: target }, { service: target, peer: source }], range)
    return edge ? "ready" : "empty"
  }

  return { refresh, destroy: () => {} }
}
