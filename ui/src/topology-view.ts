// The topology page: services in namespace boxes and the calls between them, a namespace filter, a search that
// names its matches, a side panel with the selection's figures and links, and the same content as text (a list
// of services and relations) for screen readers, for tests, and for anyone who prefers a table.
import { api, type InstanceTopology, type MetricSummary, type Status, type Topology } from "./api.ts"
import { h } from "./dom.ts"
import { fmtBytesPerSec, fmtCpm, fmtMs, fmtPct } from "./format.ts"
import { createGraph, edgeLabel, type GraphEdge, type GraphModel, type GraphView, nodeFigure, type Selection } from "./graph-view.ts"
import { HEALTH_COLORS, healthOf } from "./health.ts"
import { hook } from "./hook.ts"
import { edgeMetrics, hasCalls, hasTcp } from "./metrics.ts"
import { noDataMessage, type View, type ViewContext } from "./view.ts"

const afterNextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve())))

/** The nodes of a namespace, the calls into or out of it, and the nodes at their far ends (as the API's ?namespace=). */
export const filterNamespace = (m: GraphModel, ns: string): GraphModel => {
  if (ns === "") return m
  const inside = new Set(m.nodes.filter((n) => n.namespace === ns).map((n) => n.id))
  const edges = m.edges.filter((e) => inside.has(e.source) || inside.has(e.target))
  const shown = new Set(edges.flatMap((e) => [e.source, e.target]))
  const nodes = m.nodes.filter((n) => inside.has(n.id) || shown.has(n.id)).map((n) => ({ ...n, outside: !inside.has(n.id) }))
  return { nodes, edges }
}

/** Services in namespace boxes. */
const serviceModel = (t: Topology): GraphModel => ({
  nodes: t.nodes.map((n) => ({
    id: n.name,
    name: n.name,
    box: n.namespace,
    namespace: n.namespace,
    service: n.name,
    metrics: n.metrics,
    outside: false
  })),
  edges: t.edges.map((e) => ({ ...e, sourceService: e.source, targetService: e.target }))
})

const instanceId = (service: string, instance: string) => `${service}/${instance}`

/** Instances in their services' boxes. */
const instanceModel = (t: InstanceTopology): GraphModel => ({
  nodes: t.nodes.map((n) => ({
    id: instanceId(n.service, n.instance),
    name: n.instance,
    box: n.service,
    namespace: n.namespace,
    service: n.service,
    metrics: n.metrics,
    outside: false
  })),
  edges: t.edges.map((e) => ({
    source: instanceId(e.source, e.sourceInstance),
    target: instanceId(e.target, e.targetInstance),
    sourceService: e.source,
    targetService: e.target,
    client: e.client,
    server: e.server
  }))
})

const legend = () =>
  h(
    "ul",
    { class: "legend" },
    ...(["healthy", "warning", "critical", "unknown"] as const).map((k) =>
      h(
        "li",
        {},
        h("span", { class: "swatch", style: `background:${HEALTH_COLORS[k]}` }),
        k === "unknown" ? "no request data (callers only, TCP)" : k
      )
    )
  )

/** Key figures of a summary as a definition list (requests and TCP). */
const figures = (m: MetricSummary | null) => {
  const rows: Array<[string, string]> = []
  if (hasCalls(m)) {
    rows.push(
      ["Calls / min", fmtCpm(m.cpm)],
      ["Avg latency", fmtMs(m.respTimeMs)],
      ["p99", fmtMs(m.percentiles.p99)],
      ["Success rate", fmtPct(m.sla)]
    )
  }
  if (hasTcp(m)) {
    rows.push(
      ["TCP received", fmtBytesPerSec(m.receivedBytesPerMin)],
      ["TCP sent", fmtBytesPerSec(m.sentBytesPerMin)],
      ["Connections / min", fmtCpm(m.connectionsPerMin)]
    )
  }
  return rows.length === 0
    ? h("p", { class: "muted" }, "No server-side traffic: it only calls others.")
    : h("dl", { class: "figures" }, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`

const names = (list: ReadonlyArray<string>, max: number) =>
  list.length <= max ? list.join(", ") : `${list.slice(0, max).join(", ")} and ${list.length - max} more`

export const topologyView = (ctx: ViewContext): View => {
  const namespaceSelect = h("select", { "aria-label": "Namespace", id: "namespace" }, h("option", { value: "" }, "All namespaces"))
  namespaceSelect.addEventListener("change", () => (location.hash = ctx.link({ view: "topology" }, { ns: namespaceSelect.value })))
  const instances = ctx.params.level === "instance"
  const levelSelect = h(
    "select",
    { "aria-label": "Level", id: "level" },
    h("option", { value: "service", selected: !instances }, "Services"),
    h("option", { value: "instance", selected: instances }, "Instances")
  )
  levelSelect.addEventListener(
    "change",
    () => (location.hash = ctx.link({ view: "topology" }, { level: levelSelect.value === "instance" ? "instance" : "service" }))
  )
  const searchBox = h("input", {
    type: "search",
    id: "search",
    placeholder: instances ? "Search instances" : "Search services",
    "aria-label": instances ? "Search instances" : "Search services",
    "aria-describedby": "search-results"
  })
  const searchResults = h("span", { id: "search-results", class: "muted", "aria-live": "polite" })
  const summary = h("span", { class: "muted", id: "graph-summary" })
  const fitButton = h("button", { type: "button", id: "fit", title: "Show the whole graph" }, "Fit")
  const zoomIn = h("button", { type: "button", id: "zoom-in", "aria-label": "Zoom in", onclick: () => graph?.zoomBy(1.5) }, "+")
  const zoomOut = h("button", { type: "button", id: "zoom-out", "aria-label": "Zoom out", onclick: () => graph?.zoomBy(1 / 1.5) }, "−")
  const listToggle = h("button", { type: "button", id: "list-toggle", "aria-pressed": "false" }, "As a list")
  const graphBox = h("div", { id: "graph", role: "img", "aria-label": "Service topology graph; the same content follows as a list" })
  const panel = h("aside", { id: "side-panel", "aria-live": "polite", hidden: true })
  const textList = h("section", { id: "graph-text", class: "visually-hidden", "aria-label": "Services and relations as text" })
  const stage = h("div", { class: "stage" }, graphBox, panel)
  const empty = h("div", { hidden: true })
  ctx.root.replaceChildren(
    h(
      "div",
      { class: "subbar" },
      namespaceSelect,
      levelSelect,
      searchBox,
      searchResults,
      summary,
      h("span", { class: "zoom-buttons" }, zoomOut, fitButton, zoomIn),
      listToggle,
      legend()
    ),
    stage,
    textList,
    empty
  )
  let graph: GraphView | undefined
  let model: GraphModel = { nodes: [], edges: [] }
  let selection: Selection | undefined

  const runSearch = () => {
    const matches = graph?.search(searchBox.value) ?? []
    const q = searchBox.value.trim()
    searchResults.textContent =
      q === ""
        ? ""
        : matches.length === 0
          ? `Nothing matches “${q}”`
          : `${matches.length} match${matches.length === 1 ? "" : "es"}: ${names(matches, 8)}`
    searchResults.dataset.matches = JSON.stringify(matches)
  }
  searchBox.addEventListener("input", () => {
    const start = performance.now()
    runSearch()
    void afterNextFrame().then(() => (hook.timings.searchMs = performance.now() - start))
  })
  fitButton.addEventListener("click", () => graph?.fit())
  listToggle.addEventListener("click", () => {
    const shown = textList.classList.toggle("visually-hidden") === false
    listToggle.setAttribute("aria-pressed", String(shown))
  })

  const serviceLink = (service: string) => h("a", { href: ctx.link({ view: "service", service }) }, service)
  const nodeLink = (n: GraphModel["nodes"][number]) =>
    instances ? h("a", { href: ctx.link({ view: "instance", service: n.service, instance: n.name }) }, n.name) : serviceLink(n.name)
  const relationLink = (e: GraphEdge, text: string) =>
    h("a", { href: ctx.link({ view: "relation", source: e.sourceService, target: e.targetService }) }, text)
  const nameOf = (id: string) => model.nodes.find((n) => n.id === id)?.name ?? id

  const showPanel = () => {
    const s = selection
    panel.hidden = s === undefined
    if (s === undefined) return panel.replaceChildren()
    const close = h("button", { type: "button", class: "close", "aria-label": "Close", onclick: () => graph?.select(undefined) }, "×")
    if (s.kind === "node") {
      const n = model.nodes.find((x) => x.id === s.id)
      if (!n) return panel.replaceChildren()
      const calls = model.edges.filter((e) => e.source === n.id).length
      const callers = model.edges.filter((e) => e.target === n.id).length
      const what = instances ? "instance" : "service"
      panel.replaceChildren(
        close,
        h("h2", {}, n.name),
        h(
          "p",
          { class: "muted" },
          `${instances ? `instance of ${n.service} · ` : ""}namespace ${n.namespace} · ${healthOf(n.metrics, ctx.thresholds())} · ${plural(callers, "caller")} · calls ${plural(calls, what)}`
        ),
        figures(n.metrics),
        h(
          "p",
          { class: "links" },
          instances
            ? [
                h("a", { href: ctx.link({ view: "instance", service: n.service, instance: n.name }), class: "button" }, "Open proxy view"),
                " ",
                serviceLink(n.service)
              ]
            : h("a", { href: ctx.link({ view: "service", service: n.name }), class: "button" }, "Open dashboard")
        )
      )
    } else {
      const e = model.edges.find((x) => x.source === s.source && x.target === s.target)
      if (!e) return panel.replaceChildren()
      panel.replaceChildren(
        close,
        h("h2", {}, nameOf(e.source), " → ", nameOf(e.target)),
        h(
          "p",
          { class: "muted" },
          instances ? [serviceLink(e.sourceService), " → ", serviceLink(e.targetService), " · "] : null,
          healthOf(edgeMetrics(e), ctx.thresholds())
        ),
        h("h3", {}, "Server side"),
        figures(e.server),
        h("h3", {}, "Client side"),
        figures(e.client),
        h("p", {}, relationLink(e, instances ? "Open the services' relation" : "Open relation"))
      )
    }
  }

  const renderText = () => {
    const health = (m: MetricSummary | null) => healthOf(m, ctx.thresholds())
    textList.replaceChildren(
      h("h2", {}, "Services"),
      h(
        "table",
        { class: "data", "data-table": "graph-services" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...[instances ? "Instance" : "Service", instances ? "Service" : "Namespace", "Health", "Traffic"].map((t) =>
              h("th", { scope: "col" }, t)
            )
          )
        ),
        h(
          "tbody",
          {},
          ...model.nodes.map((n) =>
            h(
              "tr",
              {},
              h("td", {}, nodeLink(n)),
              h("td", {}, n.box),
              h("td", {}, health(n.metrics)),
              h("td", {}, nodeFigure(n.metrics) || "—")
            )
          )
        )
      ),
      h("h2", {}, "Relations"),
      h(
        "table",
        { class: "data", "data-table": "graph-relations" },
        h("thead", {}, h("tr", {}, ...["From", "To", "Health", "Traffic"].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          ...model.edges.map((e) =>
            h(
              "tr",
              {},
              h("td", {}, nameOf(e.source)),
              h("td", {}, nameOf(e.target)),
              h("td", {}, health(edgeMetrics(e))),
              h("td", {}, relationLink(e, edgeLabel(edgeMetrics(e)).replace("\n", " · ") || "—"))
            )
          )
        )
      )
    )
  }

  const showNamespaces = (t: GraphModel) => {
    const namespaces = [...new Set(t.nodes.map((n) => n.namespace))].sort()
    if (ctx.params.ns !== "" && !namespaces.includes(ctx.params.ns)) namespaces.push(ctx.params.ns)
    namespaceSelect.replaceChildren(namespaceSelect.options[0]!, ...namespaces.map((ns) => h("option", { value: ns }, ns)))
    namespaceSelect.value = ctx.params.ns
  }

  let status: Status | undefined
  const refresh = async () => {
    const all = instances ? instanceModel(await api.instanceTopology(ctx.params.range)) : serviceModel(await api.topology(ctx.params.range))
    showNamespaces(all)
    model = filterNamespace(all, ctx.params.ns)
    const isEmpty = model.nodes.length === 0
    if (isEmpty) {
      // Only the first-run page needs the ports; an older API without /api/status gets a page without them.
      status ??= await api.status().catch(() => undefined)
      empty.replaceChildren(noDataMessage(status))
    }
    empty.hidden = !isEmpty
    stage.hidden = isEmpty
    summary.textContent = `${plural(model.nodes.length, instances ? "instance" : "service")} · ${plural(model.edges.length, "relation")}`
    renderText()
    if (isEmpty) return "empty"
    const start = performance.now()
    graph ??= createGraph(
      graphBox,
      (s) => {
        selection = s
        showPanel()
      },
      (s) => {
        const n = s.kind === "node" ? model.nodes.find((x) => x.id === s.id) : undefined
        const e = s.kind === "edge" ? model.edges.find((x) => x.source === s.source && x.target === s.target) : undefined
        if (n)
          location.hash = instances
            ? ctx.link({ view: "instance", service: n.service, instance: n.name })
            : ctx.link({ view: "service", service: n.service })
        if (e) location.hash = ctx.link({ view: "relation", source: e.sourceService, target: e.targetService })
      }
    )
    hook.graph = graph.snapshot
    graph.update(model, ctx.thresholds())
    runSearch()
    showPanel()
    await afterNextFrame()
    hook.timings.graphRenderMs = performance.now() - start
    return "ready"
  }

  // A new window size gets the whole graph fitted again (a smaller screen would otherwise cut it).
  let resizeTimer: ReturnType<typeof setTimeout> | undefined
  const onResize = () => {
    clearTimeout(resizeTimer)
    resizeTimer = setTimeout(() => graph?.fit(), 150)
  }
  window.addEventListener("resize", onResize)

  return {
    refresh,
    destroy: () => {
      window.removeEventListener("resize", onResize)
      clearTimeout(resizeTimer)
      graph?.destroy()
    }
  }
}
