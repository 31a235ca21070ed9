// The topology page: services and the calls between them, with a namespace filter and a search box.
import { api, type Topology } from "./api.ts"
import { h } from "./dom.ts"
import { createGraph, type GraphModel, type GraphView } from "./graph-view.ts"
import { HEALTH_COLORS } from "./health.ts"
import { hook } from "./hook.ts"
import { noDataMessage, type View, type ViewContext } from "./view.ts"

const afterNextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve())))

/** The services of a namespace, the calls into or out of it, and the services at their far ends (as the API's ?namespace=). */
export const filterNamespace = (t: Topology, ns: string): GraphModel => {
  if (ns === "") return { nodes: t.nodes.map((n) => ({ ...n, outside: false })), edges: t.edges }
  const inside = new Set(t.nodes.filter((n) => n.namespace === ns).map((n) => n.name))
  const edges = t.edges.filter((e) => inside.has(e.source) || inside.has(e.target))
  const shown = new Set(edges.flatMap((e) => [e.source, e.target]))
  const nodes = t.nodes.filter((n) => inside.has(n.name) || shown.has(n.name)).map((n) => ({ ...n, outside: !inside.has(n.name) }))
  return { nodes, edges }
}

const legend = () =>
  h("ul", { class: "legend" }, ...(["healthy", "warning", "critical", "unknown"] as const).map((k) =>
    h("li", {}, h("span", { class: "swatch", style: `background:${HEALTH_COLORS[k]}` }), k === "unknown" ? "no server-side data" : k)))

export const topologyView = (ctx: ViewContext): View => {
  const namespaceSelect = h("select", { "aria-label": "Namespace", id: "namespace" }, h("option", { value: "" }, "All namespaces"))
  namespaceSelect.addEventListener("change", () => (location.hash = ctx.link({ view: "topology" }, { ns: namespaceSelect.value })))
  const searchBox = h("input", { type: "search", id: "search", placeholder: "Search services", "aria-label": "Search services" })
  const summary = h("span", { class: "muted", id: "graph-summary" })
  const graphBox = h("div", { id: "graph", "aria-label": "Service topology" })
  const empty = h("div", { hidden: true }, noDataMessage())
  ctx.root.replaceChildren(
    h("div", { class: "subbar" }, namespaceSelect, searchBox, summary, legend()),
    graphBox,
    empty
  )
  let graph: GraphView | undefined

  searchBox.addEventListener("input", () => {
    const start = performance.now()
    graph?.search(searchBox.value)
    void afterNextFrame().then(() => (hook.timings.searchMs = performance.now() - start))
  })

  const showNamespaces = (t: Topology) => {
    const namespaces = [...new Set(t.nodes.map((n) => n.namespace))].sort()
    if (ctx.params.ns !== "" && !namespaces.includes(ctx.params.ns)) namespaces.push(ctx.params.ns)
    namespaceSelect.replaceChildren(namespaceSelect.options[0]!, ...namespaces.map((ns) => h("option", { value: ns }, ns)))
    namespaceSelect.value = ctx.params.ns
  }

  const refresh = async () => {
    const topology = await api.topology(ctx.params.range)
    showNamespaces(topology)
    const model = filterNamespace(topology, ctx.params.ns)
    const isEmpty = model.nodes.length === 0
    empty.hidden = !isEmpty
    graphBox.hidden = isEmpty
    summary.textContent = `${model.nodes.length} services · ${model.edges.length} relations`
    if (isEmpty) return "empty"
    const start = performance.now()
    graph ??= createGraph(graphBox, (s) => {
      location.hash = s.kind === "node" ? ctx.link({ view: "service", service: s.id }) : ctx.link({ view: "relation", source: s.source, target: s.target })
    })
    hook.graph = graph.snapshot
    graph.update(model, ctx.thresholds())
    await afterNextFrame()
    hook.timings.graphRenderMs = performance.now() - start
    return "ready"
  }

  return { refresh, destroy: () => graph?.destroy() }
}
