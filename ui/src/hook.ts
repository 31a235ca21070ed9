// What the page shows, for end-to-end tests and debugging: window.__meshsight mirrors the current view's state,
// graph and charts, so tests assert what is rendered rather than what was fetched.
export type ViewState = "loading" | "ready" | "empty" | "error" | "not-found" | "unauthorized"

export interface GraphNodeInfo {
  readonly id: string
  /** What the canvas calls it (the service, or the instance at the instance level). */
  readonly name: string
  readonly namespace: string
  readonly health: string
  readonly cpm: number
  readonly tcpBytesPerMin: number
  readonly label: string
  /** The label's size on screen (font size × zoom) and whether it is drawn (readable, or a search match). */
  readonly labelPx: number
  readonly labelShown: boolean
  readonly dimmed: boolean
  readonly outside: boolean
  readonly selected: boolean
  /** Where the node is drawn, in viewport (clientX/clientY) coordinates. */
  readonly x: number
  readonly y: number
}

export interface GraphEdgeInfo {
  readonly source: string
  readonly target: string
  readonly health: string
  readonly cpm: number
  readonly tcpBytesPerMin: number
  readonly label: string
  readonly labelPx: number
  readonly labelShown: boolean
  readonly dimmed: boolean
  readonly x: number
  readonly y: number
}

export interface ChartInfo {
  readonly title: string
  /** Per series, how many minutes have a value. */
  readonly series: ReadonlyArray<{
    readonly label: string
    readonly points: number
    readonly values: ReadonlyArray<number | null>
    /** What the legend shows for the whole range. */
    readonly rangeValue: string
  }>
}

export interface MeshsightHook {
  state: ViewState
  view: string
  graph: () => {
    readonly nodes: ReadonlyArray<GraphNodeInfo>
    readonly edges: ReadonlyArray<GraphEdgeInfo>
    /** The boxes (namespaces, or services at the instance level): their title's size on screen and their centre. */
    readonly boxes: ReadonlyArray<{ readonly id: string; readonly labelPx: number; readonly x: number; readonly y: number }>
    readonly zoom: number
  }
  charts: Array<ChartInfo>
  /** Milliseconds of the last graph update (elements + layout + first draw) and the last search filter. */
  timings: { graphRenderMs?: number; layoutMs?: number; searchMs?: number }
  /** Counts refreshes; a test waits for it to grow. */
  refreshes: number
}

declare global {
  interface Window {
    __meshsight: MeshsightHook
  }
}

export const hook: MeshsightHook = {
  state: "loading",
  view: "",
  graph: () => ({ nodes: [], edges: [], boxes: [], zoom: 1 }),
  charts: [],
  timings: {},
  refreshes: 0
}
window.__meshsight = hook

export const setState = (state: ViewState) => {
  hook.state = state
  document.body.dataset.state = state
}
