// The topology graph, drawn with cytoscape on a canvas: services grouped in namespace boxes (compound nodes), or
// instances in their services' boxes, and calls as arrows. Updates keep positions: a layout runs only when the set of services changes, so auto-refresh
// does not reshuffle the picture.
//
// Labels stay legible: they are drawn at a size in the graph's own units, so they grow and shrink with the zoom,
// on a white background, and only once they would be at least MIN_LABEL_PX on screen. On a large graph that means
// the namespaces' titles and the busiest services are labelled at the first view, the rest as you zoom in, and an
// arrow's label shows while its service or the arrow is under the pointer or selected.
import cytoscape from "cytoscape"
import type { MetricSummary } from "./api.ts"
import { fmtBytesPerSec, fmtCpm, fmtMs, fmtPct } from "./format.ts"
import { HEALTH_COLORS, healthOf, type Thresholds } from "./health.ts"
import { type GraphEdgeInfo, type GraphNodeInfo, hook } from "./hook.ts"
import { groupedLayout } from "./layered-layout.ts"
import { edgeMetrics, hasCalls, hasTcp, tcpBytesPerMin } from "./metrics.ts"

/** A service, or an instance at the instance level. */
export interface GraphNode {
  readonly id: string
  /** What the canvas calls it. */
  readonly name: string
  /** The box it is drawn in: its namespace, or its service at the instance level. */
  readonly box: string
  readonly namespace: string
  readonly service: string
  readonly metrics: MetricSummary | null
  /** Outside the namespace filter: at the far end of a call into or out of it (drawn dashed). */
  readonly outside: boolean
}

/** Calls between two nodes (by id), as each side's proxy reported them. */
export interface GraphEdge {
  readonly source: string
  readonly target: string
  readonly sourceService: string
  readonly targetService: string
  readonly client: MetricSummary | null
  readonly server: MetricSummary | null
}

export interface GraphModel {
  readonly nodes: ReadonlyArray<GraphNode>
  readonly edges: ReadonlyArray<GraphEdge>
}

export type Selection =
  | { readonly kind: "node"; readonly id: string }
  | { readonly kind: "edge"; readonly source: string; readonly target: string }

/** Up to this many arrows, all are labelled and show their traffic moving. */
const LABEL_ALL_EDGES = 150
const MAX_FIT_ZOOM = 1.25
/** The smallest label drawn, in screen pixels. */
export const MIN_LABEL_PX = 10
const NODE_FONT = 12
const EDGE_FONT = 11
/** Below this zoom, the labels that are drawn (namespaces, the busiest services, matches, arrows) are scaled up. */
const FAR_ZOOM = 1
/** How many of the busiest services are labelled even when zoomed out. */
const HUBS = 24
const BOX_PREFIX = "box:"

const edgeId = (source: string, target: string) => `${source}\u2192${target}`
const nodeSize = (m: MetricSummary | null) =>
  hasCalls(m)
    ? Math.min(72, 22 + 12 * Math.log10(1 + m.cpm))
    : hasTcp(m)
      ? Math.min(72, 22 + 8 * Math.log10(1 + tcpBytesPerMin(m) / 60_000))
      : 22
const edgeWidth = (m: MetricSummary | null) =>
  hasCalls(m) ? Math.min(8, 1 + Math.log10(1 + m.cpm)) : hasTcp(m) ? Math.min(8, 1 + Math.log10(1 + tcpBytesPerMin(m) / 60_000)) : 1

/** What an arrow says: requests per minute, latency and errors, and TCP bytes per second. */
export const edgeLabel = (m: MetricSummary | null) =>
  [
    hasCalls(m) ? `${fmtCpm(m.cpm)} cpm · ${fmtMs(m.respTimeMs)} · ${fmtPct(100 - m.sla)} err` : "",
    hasTcp(m) ? `${fmtBytesPerSec(tcpBytesPerMin(m))} · ${fmtCpm(m.connectionsPerMin)} conn/min` : ""
  ]
    .filter((s) => s !== "")
    .join("\n")

/** A service's headline: calls per minute, or TCP bytes per second for a TCP-only service. */
export const nodeFigure = (m: MetricSummary | null) =>
  hasCalls(m) ? `${fmtCpm(m.cpm)} cpm` : hasTcp(m) ? fmtBytesPerSec(tcpBytesPerMin(m)) : ""

const STYLE: cytoscape.StylesheetJson = [
  {
    selector: "node",
    style: {
      "background-color": "data(color)",
      width: "data(size)",
      height: "data(size)",
      label: "data(label)",
      "font-size": NODE_FONT,
      "text-valign": "bottom",
      "text-margin-y": 4,
      "text-wrap": "wrap",
      color: "#111827",
      "text-background-color": "#ffffff",
      "text-background-opacity": 0.85,
      "text-background-padding": "1px",
      "text-background-shape": "roundrectangle",
      // Labels are drawn only when readable: the largest saving on big graphs.
      "min-zoomed-font-size": MIN_LABEL_PX,
      "border-width": 1,
      "border-color": "#ffffff"
    }
  },
  // Zoomed out, the busiest services and the search's matches keep a label of readable size.
  { selector: "node.far.hub, node.far.match", style: { "font-size": "data(farFont)" } },
  {
    selector: ":parent",
    style: {
      shape: "round-rectangle",
      "background-color": "#eef2f7",
      "background-opacity": 0.6,
      "border-width": 1,
      "border-color": "#94a3b8",
      "border-style": "solid",
      label: "data(label)",
      "text-valign": "top",
      "text-halign": "center",
      "font-size": 14,
      "font-weight": "bold",
      color: "#334155",
      "text-background-opacity": 0,
      padding: "24px",
      "min-zoomed-font-size": MIN_LABEL_PX
    }
  },
  { selector: ":parent.far", style: { "font-size": "data(farFont)" } },
  {
    selector: "edge",
    style: {
      width: "data(width)",
      "line-color": "data(color)",
      "target-arrow-color": "data(color)",
      "target-arrow-shape": "triangle",
      "curve-style": "bezier",
      "arrow-scale": 1,
      opacity: 0.8,
      "font-size": EDGE_FONT,
      "text-wrap": "wrap",
      color: "#111827",
      "text-background-color": "#ffffff",
      "text-background-opacity": 1,
      "text-background-padding": "2px",
      "text-background-shape": "roundrectangle",
      "text-border-color": "#cbd5e1",
      "text-border-width": 1,
      "text-border-opacity": 1,
      "min-zoomed-font-size": MIN_LABEL_PX - 1
    }
  },
  { selector: "edge.far", style: { "font-size": "data(farFont)" } },
  // Edge labels cost the most to draw: all of them on a small graph, else those around the pointer or selection.
  { selector: "edge.labelled", style: { label: "data(label)", "z-index": 10 } },
  // Many arrows: straight, lighter lines with the arrowhead midway (cytoscape's cheapest edges to draw), until one
  // is picked out.
  {
    selector: "edge.bulk",
    style: {
      "curve-style": "haystack",
      "haystack-radius": 0,
      "target-arrow-shape": "none",
      "mid-target-arrow-shape": "triangle",
      "mid-target-arrow-color": "data(color)",
      opacity: 0.45
    }
  },
  { selector: "edge.bulk.labelled", style: { opacity: 1, "z-index": 10 } },
  // Traffic moving along the arrows (small graphs only: every frame redraws the whole canvas).
  { selector: "edge.flow", style: { "line-style": "dashed", "line-dash-pattern": [8, 4] } },
  { selector: ".outside", style: { "border-style": "dashed", "border-color": "#6b7280", "border-width": 2, opacity: 0.55 } },
  { selector: ".dim", style: { opacity: 0.08 } },
  { selector: "node.match", style: { "border-width": 4, "border-color": "#1d4ed8", "min-zoomed-font-size": 0 } },
  { selector: "node:selected", style: { "border-width": 4, "border-color": "#111827" } },
  { selector: "edge:selected", style: { "line-color": "#111827", "target-arrow-color": "#111827", opacity: 1 } }
]

export const createGraph = (container: HTMLElement, onSelect: (s: Selection | undefined) => void, onOpen: (s: Selection) => void) => {
  const cy = cytoscape({
    container,
    style: STYLE,
    minZoom: 0.05,
    maxZoom: 4,
    boxSelectionEnabled: false,
    selectionType: "single",
    // While panning or zooming, move a snapshot of the picture instead of redrawing 1 000 edges each frame.
    textureOnViewport: true
  })
  const services = () => cy.nodes(":childless")
  const selectionOf = (el: cytoscape.SingularElementArgument): Selection | undefined =>
    el.isEdge()
      ? { kind: "edge", source: el.data("source"), target: el.data("target") }
      : el.isParent()
        ? undefined
        : { kind: "node", id: el.id() }
  let query = ""
  let labelAll = false
  let farZoom = 0
  let hubs = cy.collection()
  /** Whether the hubs' and namespaces' labels are scaled up now. */
  let farNow = false

  // While the view pans or zooms the pointer sweeps over many elements; labelling each one would redraw the
  // whole graph instead of moving its snapshot.
  let moving: ReturnType<typeof setTimeout> | undefined
  cy.on("viewport", () => {
    clearTimeout(moving)
    moving = setTimeout(() => (moving = undefined), 200)
  })
  const labelAround = (el: cytoscape.SingularElementArgument, on: boolean) => {
    if (labelAll || (on && moving !== undefined)) return
    const edges = el.isEdge() ? el : el.connectedEdges()
    // A selected element keeps its arrows labelled when the pointer leaves.
    const keep = cy.$(":selected")
    edges
      .filter(
        (e) =>
          on || !(keep.contains(e) || keep.edgesWith(e.connectedNodes()).nonempty() || e.connectedNodes().some((n) => keep.contains(n)))
      )
      .toggleClass("labelled", on)
  }
  cy.on("mouseover", "node:childless, edge", (e) => labelAround(e.target, true))
  cy.on("mouseout", "node:childless, edge", (e) => labelAround(e.target, false))
  cy.on("select", "node:childless, edge", (e) => {
    if (!labelAll) (e.target.isEdge() ? e.target : e.target.connectedEdges()).addClass("labelled")
    onSelect(selectionOf(e.target))
  })
  cy.on("unselect", "node:childless, edge", (e) => {
    if (!labelAll) (e.target.isEdge() ? e.target : e.target.connectedEdges()).removeClass("labelled")
    if (cy.$(":selected").empty()) onSelect(undefined)
  })
  cy.on("dbltap", "node:childless, edge", (e) => {
    const s = selectionOf(e.target)
    if (s) onOpen(s)
  })
  // Zoomed out past the point where ordinary labels disappear, the hubs' and namespaces' labels are scaled up.
  const applyFar = (force = false) => {
    const far = farZoom > 0 && cy.zoom() < FAR_ZOOM
    if (far === farNow && !force) return
    farNow = far
    cy.batch(() => {
      cy.nodes(":parent").toggleClass("far", far)
      hubs.toggleClass("far", far)
      cy.nodes(".match").toggleClass("far", far)
      cy.edges().toggleClass("far", far)
    })
  }
  let zoomQueued = false
  cy.on("zoom", () => {
    if (zoomQueued) return
    zoomQueued = true
    requestAnimationFrame(() => {
      zoomQueued = false
      applyFar()
    })
  })

  let flowFrame = 0
  const flow = (on: boolean) => {
    cancelAnimationFrame(flowFrame)
    if (!on) return
    const start = performance.now()
    const step = (t: number) => {
      cy.edges(".flow").style("line-dash-offset", -((t - start) / 40) % 12)
      flowFrame = requestAnimationFrame(step)
    }
    flowFrame = requestAnimationFrame(step)
  }

  const nodeData = (n: GraphModel["nodes"][number], t: Thresholds) => {
    const health = healthOf(n.metrics, t)
    const figure = nodeFigure(n.metrics)
    return {
      id: n.id,
      parent: BOX_PREFIX + n.box,
      namespace: n.namespace,
      cpm: hasCalls(n.metrics) ? n.metrics.cpm : 0,
      tcpBytesPerMin: hasTcp(n.metrics) ? tcpBytesPerMin(n.metrics) : 0,
      health,
      color: HEALTH_COLORS[health],
      size: nodeSize(n.metrics),
      label: figure ? `${n.name}\n${figure}` : n.name,
      name: n.name
    }
  }

  const edgeData = (e: GraphEdge, t: Thresholds) => {
    const m = edgeMetrics(e)
    const health = healthOf(m, t)
    return {
      id: edgeId(e.source, e.target),
      source: e.source,
      target: e.target,
      cpm: hasCalls(m) ? m.cpm : 0,
      tcpBytesPerMin: hasTcp(m) ? tcpBytesPerMin(m) : 0,
      health,
      color: HEALTH_COLORS[health],
      width: edgeWidth(m),
      label: edgeLabel(m)
    }
  }

  /** A label size that reads as `px` × 1.1 on screen at the zoom that fitted the graph. */
  const scaledFont = (px: number) => (farZoom > 0 ? Math.max(px, (px * 1.1) / farZoom) : px)

  /** Labels that stay readable at the zoom that fits the whole graph (0 = no scaling needed). */
  const scaleFarLabels = () => {
    const fit = cy.zoom()
    farZoom = fit < FAR_ZOOM ? fit : 0
    const scaled = scaledFont
    // The busiest services first, skipping one whose label would overlap a label already picked.
    const font = scaled(NODE_FONT)
    const picked: Array<cytoscape.Position> = []
    hubs = services()
      .sort((a, b) => b.data("cpm") - a.data("cpm") || b.data("tcpBytesPerMin") - a.data("tcpBytesPerMin"))
      .filter((n) => {
        const p = (n as cytoscape.NodeSingular).position()
        if (picked.length >= HUBS || picked.some((q) => Math.abs(q.x - p.x) < 8 * font && Math.abs(q.y - p.y) < 2.6 * font)) return false
        picked.push(p)
        return true
      })
    cy.batch(() => {
      services().data("farFont", scaled(NODE_FONT))
      cy.nodes(":parent").data("farFont", scaled(15))
      cy.edges().data("farFont", scaled(EDGE_FONT))
      services().removeClass("hub")
      hubs.addClass("hub")
    })
    applyFar(true)
  }

  /** Fits the whole graph in view (a handful of services no larger than MAX_FIT_ZOOM) and sizes the far labels for it. */
  const fitAll = () => {
    cy.resize()
    // The boxes bound everything drawn; measuring them skips the edges' geometry, the costliest to compute.
    cy.fit(cy.nodes(":parent"), 30)
    if (cy.zoom() > MAX_FIT_ZOOM) cy.zoom(MAX_FIT_ZOOM).center()
    scaleFarLabels()
  }

  /** Replaces the graph's content; returns whether a layout ran. */
  const update = (model: GraphModel, thresholds: Thresholds): boolean => {
    const nodeIds = new Set(model.nodes.map((n) => n.id))
    const boxes = new Set(model.nodes.map((n) => n.box))
    const before = new Set(services().map((n) => n.id()))
    const changed = before.size !== nodeIds.size || [...nodeIds].some((id) => !before.has(id))
    cy.batch(() => {
      const keep = new Set([...nodeIds, ...[...boxes].map((b) => BOX_PREFIX + b), ...model.edges.map((e) => edgeId(e.source, e.target))])
      cy.elements()
        .filter((el) => !keep.has(el.id()))
        .remove()
      for (const b of boxes) {
        if (cy.getElementById(BOX_PREFIX + b).empty())
          cy.add({ group: "nodes", data: { id: BOX_PREFIX + b, label: b, farFont: 15 }, selectable: false })
      }
      for (const n of model.nodes) {
        const data = nodeData(n, thresholds)
        const existing = cy.getElementById(data.id)
        let el = existing
        // farFont is set for the current fit by scaleFarLabels; a refresh keeps it.
        if (existing.empty()) el = cy.add({ group: "nodes", data: { ...data, farFont: scaledFont(NODE_FONT) } })
        else {
          const { parent, ...rest } = data
          existing.data(rest)
          if (existing.data("parent") !== parent) el = existing.move({ parent }) as unknown as typeof existing
        }
        el.toggleClass("outside", n.outside)
      }
      for (const e of model.edges) {
        const data = edgeData(e, thresholds)
        const existing = cy.getElementById(data.id)
        if (existing.nonempty()) existing.data(data)
        else cy.add({ group: "edges", data: { ...data, farFont: scaledFont(EDGE_FONT) } }).toggleClass("far", farNow)
      }
      labelAll = model.edges.length <= LABEL_ALL_EDGES
      cy.edges().toggleClass("labelled", labelAll).toggleClass("flow", labelAll).toggleClass("bulk", !labelAll)
    })
    flow(labelAll)
    if (changed) {
      const start = performance.now()
      const positions = groupedLayout(
        model.nodes.map((n) => ({ name: n.id, group: n.box })),
        model.edges
      )
      // Services (or instances) only: a box takes its place and size from what it holds.
      cy.batch(() => services().positions((n) => positions.get(n.id()) ?? { x: 0, y: 0 }))
      fitAll()
      hook.timings.layoutMs = performance.now() - start
    }
    search(query)
    return changed
  }

  /**
   * Dims every service whose name lacks `q` and every call between two dimmed services; returns the matches.
   * Only elements whose state changes are restyled (typing one more letter, or a refresh, touches few).
   */
  const search = (q: string): Array<string> => {
    query = q.trim().toLowerCase()
    const nodes = services()
    const matches = query === "" ? cy.collection() : nodes.filter((n) => n.id().toLowerCase().includes(query))
    const matched = new Set(matches.map((n) => n.id()))
    cy.batch(() => {
      const dimmed =
        query === ""
          ? cy.collection()
          : nodes.difference(matches).union(cy.edges().filter((e) => !matched.has(e.data("source")) && !matched.has(e.data("target"))))
      // One call per class and direction: cytoscape's per-call overhead dominates on 1 300 elements.
      cy.elements(".dim").difference(dimmed).removeClass("dim")
      dimmed.filter((el) => !el.hasClass("dim")).addClass("dim")
      cy.nodes(".match").difference(matches).removeClass("match")
      matches
        .filter((n) => !n.hasClass("match"))
        .addClass("match")
        .toggleClass("far", farNow)
    })
    return [...matched].sort()
  }

  const select = (s: Selection | undefined) => {
    cy.$(":selected").unselect()
    if (s) cy.getElementById(s.kind === "node" ? s.id : edgeId(s.source, s.target)).select()
  }

  const labelPx = (el: cytoscape.SingularElementArgument) => parseFloat(el.style("font-size")) * cy.zoom()
  const labelShown = (el: cytoscape.SingularElementArgument, min: number) =>
    el.style("label") !== "" && el.style("display") !== "none" && labelPx(el) >= min

  const snapshot = () => {
    const box = container.getBoundingClientRect()
    const onPage = (p: { x: number; y: number }) => ({ x: box.left + p.x, y: box.top + p.y })
    const nodes: Array<GraphNodeInfo> = services().map((n) => ({
      id: n.id(),
      name: n.data("name"),
      namespace: n.data("namespace"),
      health: n.data("health"),
      cpm: n.data("cpm"),
      tcpBytesPerMin: n.data("tcpBytesPerMin"),
      label: n.data("label"),
      labelPx: labelPx(n),
      labelShown: labelShown(n, n.hasClass("match") ? 0 : MIN_LABEL_PX),
      dimmed: n.hasClass("dim"),
      outside: n.hasClass("outside"),
      selected: n.selected(),
      ...onPage(n.renderedPosition())
    }))
    const edges: Array<GraphEdgeInfo> = cy.edges().map((e) => ({
      source: e.data("source"),
      target: e.data("target"),
      health: e.data("health"),
      cpm: e.data("cpm"),
      tcpBytesPerMin: e.data("tcpBytesPerMin"),
      label: e.data("label"),
      labelPx: labelPx(e),
      labelShown: e.hasClass("labelled") && labelShown(e, MIN_LABEL_PX - 1),
      dimmed: e.hasClass("dim"),
      ...onPage(e.renderedMidpoint())
    }))
    const boxes = cy.nodes(":parent").map((p) => ({ id: p.data("label") as string, labelPx: labelPx(p), ...onPage(p.renderedPosition()) }))
    return { nodes, edges, boxes, zoom: cy.zoom() }
  }

  return {
    update,
    search,
    select,
    snapshot,
    fit: fitAll,
    /** Zooms by `factor` about the middle of the view (the toolbar's + and − buttons). */
    zoomBy: (factor: number) => cy.zoom({ level: cy.zoom() * factor, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } }),
    destroy: () => {
      flow(false)
      cy.destroy()
    }
  }
}

export type GraphView = ReturnType<typeof createGraph>
