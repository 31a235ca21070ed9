// The topology graph, drawn with cytoscape on a canvas. Updates keep positions: a layout runs only when the set
// of services changes, so auto-refresh does not reshuffle the picture.
import cytoscape from "cytoscape"
import type { Edge, ServiceItem } from "./api.ts"
import { fmtCpm, fmtMs, fmtPct } from "./format.ts"
import { HEALTH_COLORS, healthOf, type Thresholds } from "./health.ts"
import { type GraphEdgeInfo, type GraphNodeInfo, hook } from "./hook.ts"
import { layeredLayout } from "./layered-layout.ts"
import { edgeMetrics } from "./metrics.ts"

export interface GraphModel {
  readonly nodes: ReadonlyArray<ServiceItem & { readonly outside: boolean }>
  readonly edges: ReadonlyArray<Edge>
}

export type Selection = { readonly kind: "node"; readonly id: string } | { readonly kind: "edge"; readonly source: string; readonly target: string }

const LABEL_ALL_EDGES = 150
const MAX_FIT_ZOOM = 1.25

const edgeId = (source: string, target: string) => `${source}\u2192${target}`
const nodeSize = (cpm: number) => Math.min(72, 22 + 12 * Math.log10(1 + cpm))
const edgeWidth = (cpm: number) => Math.min(8, 1 + Math.log10(1 + cpm))


const STYLE: cytoscape.StylesheetJson = [
  {
    selector: "node",
    style: {
      "background-color": "data(color)",
      width: "data(size)",
      height: "data(size)",
      label: "data(label)",
      "font-size": 11,
      "text-valign": "bottom",
      "text-margin-y": 4,
      "text-wrap": "wrap",
      color: "#1f2937",
      "text-outline-color": "#ffffff",
      "text-outline-width": 2,
      // Labels are drawn only when readable: the largest saving on big graphs.
      "min-zoomed-font-size": 8,
      "border-width": 1,
      "border-color": "#ffffff"
    }
  },
  {
    selector: "edge",
    style: {
      width: "data(width)",
      "line-color": "data(color)",
      "target-arrow-color": "data(color)",
      "target-arrow-shape": "triangle",
      "curve-style": "bezier",
      "arrow-scale": 0.8,
      opacity: 0.75,
      "font-size": 9,
      color: "#374151",
      "text-background-color": "#ffffff",
      "text-background-opacity": 0.8,
      "min-zoomed-font-size": 9
    }
  },
  // Edge labels cost the most to draw: all of them on a small graph, else those of the service under the pointer.
  { selector: "edge.labelled", style: { label: "data(label)" } },
  { selector: ".outside", style: { "border-style": "dashed", "border-color": "#6b7280", "border-width": 2, opacity: 0.55 } },
  { selector: ".dim", style: { opacity: 0.08 } },
  { selector: "node.match", style: { "border-width": 4, "border-color": "#1d4ed8" } },
  { selector: ":selected", style: { "border-width": 4, "border-color": "#111827", "line-color": "#111827", "target-arrow-color": "#111827" } }
]

export const createGraph = (container: HTMLElement, onSelect: (s: Selection) => void) => {
  const cy = cytoscape({
    container,
    style: STYLE,
    minZoom: 0.05,
    maxZoom: 4,
    boxSelectionEnabled: false,
    // While panning or zooming, move a snapshot of the picture instead of redrawing 1 000 edges each frame.
    textureOnViewport: true
  })
  cy.on("tap", "node", (e) => onSelect({ kind: "node", id: e.target.id() }))
  cy.on("tap", "edge", (e) => onSelect({ kind: "edge", source: e.target.data("source"), target: e.target.data("target") }))
  let query = ""
  let labelAll = false
  cy.on("mouseover", "node", (e) => {
    if (!labelAll) e.target.connectedEdges().addClass("labelled")
  })
  cy.on("mouseout", "node", (e) => {
    if (!labelAll) e.target.connectedEdges().removeClass("labelled")
  })

  const nodeData = (n: GraphModel["nodes"][number], t: Thresholds) => {
    const cpm = n.metrics?.cpm ?? 0
    const health = healthOf(n.metrics, t)
    return {
      id: n.name,
      namespace: n.namespace,
      cpm,
      health,
      color: HEALTH_COLORS[health],
      size: nodeSize(cpm),
      label: n.metrics ? `${n.name}\n${fmtCpm(cpm)} cpm` : n.name
    }
  }

  const edgeData = (e: Edge, t: Thresholds) => {
    const m = edgeMetrics(e)
    const cpm = m?.cpm ?? 0
    const health = healthOf(m, t)
    return {
      id: edgeId(e.source, e.target),
      source: e.source,
      target: e.target,
      cpm,
      health,
      color: HEALTH_COLORS[health],
      width: edgeWidth(cpm),
      label: m ? `${fmtCpm(cpm)} cpm · ${fmtMs(m.respTimeMs)} · ${fmtPct(100 - m.sla)} err` : ""
    }
  }

  /** Replaces the graph's content; returns whether a layout ran. */
  const update = (model: GraphModel, thresholds: Thresholds): boolean => {
    const nodeIds = new Set(model.nodes.map((n) => n.name))
    const before = new Set(cy.nodes().map((n) => n.id()))
    const changed = before.size !== nodeIds.size || [...nodeIds].some((id) => !before.has(id))
    cy.batch(() => {
      const keep = new Set([...nodeIds, ...model.edges.map((e) => edgeId(e.source, e.target))])
      cy.elements().filter((el) => !keep.has(el.id())).remove()
      for (const n of model.nodes) {
        const data = nodeData(n, thresholds)
        const existing = cy.getElementById(data.id)
        const el = existing.nonempty() ? existing.data(data) : cy.add({ group: "nodes", data })
        el.toggleClass("outside", n.outside)
      }
      for (const e of model.edges) {
        const data = edgeData(e, thresholds)
        const existing = cy.getElementById(data.id)
        if (existing.nonempty()) existing.data(data)
        else cy.add({ group: "edges", data })
      }
      labelAll = model.edges.length <= LABEL_ALL_EDGES
      cy.edges().toggleClass("labelled", labelAll)
    })
    if (changed) {
      const start = performance.now()
      const positions = layeredLayout([...nodeIds], model.edges)
      cy.layout({ name: "preset", positions: Object.fromEntries(positions), fit: true, padding: 40 }).run()
      // A handful of services would otherwise fill the screen at 3× size.
      if (cy.zoom() > MAX_FIT_ZOOM) cy.zoom(MAX_FIT_ZOOM).center()
      hook.timings.layoutMs = performance.now() - start
    }
    search(query)
    return changed
  }

  /** Dims every service whose name lacks `q` and every call between two dimmed services. */
  const search = (q: string) => {
    query = q.trim().toLowerCase()
    cy.batch(() => {
      const matched = query === "" ? cy.collection() : cy.nodes().filter((n) => n.id().toLowerCase().includes(query))
      cy.elements().removeClass("dim match")
      if (query === "") return
      matched.addClass("match")
      cy.nodes().not(matched).addClass("dim")
      cy.edges().filter((e) => !matched.contains(e.source()) && !matched.contains(e.target())).addClass("dim")
    })

  }

  const snapshot = () => {
    const box = container.getBoundingClientRect()
    const onPage = (p: { x: number; y: number }) => ({ x: box.left + p.x, y: box.top + p.y })
    const nodes: Array<GraphNodeInfo> = cy.nodes().map((n) => ({
      id: n.id(),
      namespace: n.data("namespace"),
      health: n.data("health"),
      cpm: n.data("cpm"),
      dimmed: n.hasClass("dim"),
      outside: n.hasClass("outside"),
      ...onPage(n.renderedPosition())
    }))
    const edges: Array<GraphEdgeInfo> = cy.edges().map((e) => ({
      source: e.data("source"),
      target: e.data("target"),
      health: e.data("health"),
      cpm: e.data("cpm"),
      label: e.data("label"),
      dimmed: e.hasClass("dim"),
      ...onPage(e.renderedMidpoint())
    }))
    return { nodes, edges }
  }

  return { update, search, snapshot, fit: () => cy.fit(undefined, 40), destroy: () => cy.destroy() }
}

export type GraphView = ReturnType<typeof createGraph>
