// One relation (calls from a service to another): what the client's proxy and the server's proxy each reported,
// side by side: requests, TCP, sidecar internal latencies, status codes and response flags, and the charts.
import { api, type MetricSummary } from "./api.ts"
import { h } from "./dom.ts"
import { addErrorsTab } from "./errors-view.ts"
import { hook } from "./hook.ts"
import { hasCalls, hasTcp, HTTP_SIGNALS, SIDECAR_SIGNALS, type Signal, signalCharts, TCP_SIGNALS } from "./metrics.ts"
import { countTable, section } from "./service-view.ts"
import type { View, ViewContext } from "./view.ts"

const sideCell = (m: MetricSummary | null, value: (m: MetricSummary) => string) => h("td", {}, m ? value(m) : "—")

type Side = "client" | "server"
const SIDE_TITLE: Readonly<Record<Side, string>> = { client: "Client side (caller's proxy)", server: "Server side (callee's proxy)" }

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
    const sides = edge ? [edge.client, edge.server] : []
    const any = (test: (m: MetricSummary | null) => boolean) => sides.some(test)
    const signals: ReadonlyArray<Signal> = [
      ...(any(hasCalls) ? HTTP_SIGNALS.filter((s) => s.label !== "Apdex") : []),
      ...(any(hasTcp) ? TCP_SIGNALS : []),
      ...(any((m) => m?.sidecarInternalReqLatencyNanos != null || m?.sidecarInternalRespLatencyNanos != null) ? SIDECAR_SIGNALS : [])
    ]
    const counts = (kind: "statusCodes" | "responseFlags", title: string) =>
      edge === undefined
        ? []
        : (["client", "server"] as const).flatMap((side) => {
            const m = edge[side]
            return m && Object.keys(m[kind]).length > 0
              ? [
                  section(
                    `${title}, ${side} side`,
                    countTable(
                      `${kind}-${side}`,
                      title === "Status codes" ? "Status" : "Flag",
                      m[kind],
                      m.calls + (kind === "responseFlags" ? m.connections : 0)
                    )
                  )
                ]
              : []
          })
    ctx.root.replaceChildren(
      h(
        "div",
        { class: "title" },
        h("a", { href: ctx.link({ view: "topology" }) }, "← Topology"),
        h("h2", { id: "relation-name" }, serviceLink(source), " → ", serviceLink(target))
      ),
      edge
        ? h(
            "table",
            { class: "data relation", "data-table": "relation" },
            h(
              "thead",
              {},
              h("tr", {}, h("th", {}, ""), h("th", { scope: "col" }, SIDE_TITLE.client), h("th", { scope: "col" }, SIDE_TITLE.server))
            ),
            h(
              "tbody",
              {},
              ...signals.map((s) =>
                h(
                  "tr",
                  {},
                  h("th", { scope: "row", title: s.means?.(edge.server ?? edge.client!) }, s.label),
                  sideCell(edge.client, s.value),
                  sideCell(edge.server, s.value)
                )
              )
            )
          )
        : h("p", { class: "state-message", "data-message": "no-calls" }, `No calls from ${source} to ${target} in this time range.`),
      charts,
      h("div", { class: "grid" }, ...counts("statusCodes", "Status codes"), ...counts("responseFlags", "Response flags"))
    )
    if (edge)
      signalCharts(charts, [
        { label: "client", series: client, summary: edge.client },
        { label: "server", series: server, summary: edge.server }
      ])
    // The client's proxy files its logs under the source, the server's under the target.
    addErrorsTab(
      ctx.root,
      [
        { service: source, peer: target },
        { service: target, peer: source }
      ],
      range
    )
    return edge ? "ready" : "empty"
  }

  return { refresh, destroy: () => {} }
}
