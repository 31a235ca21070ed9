// Hash routing, so that every view is a link: #/ (topology), #/service/NAME, #/service/NAME/instance/INSTANCE
// (the instance's proxy), #/relation/SOURCE/TARGET, each with ?range=MINUTES&ns=NAMESPACE&level=instance.
export type Route =
  | { readonly view: "topology" }
  | { readonly view: "service"; readonly service: string }
  | { readonly view: "instance"; readonly service: string; readonly instance: string }
  | { readonly view: "relation"; readonly source: string; readonly target: string }

export interface ViewParams {
  /** The time range: the last `range` minutes. */
  readonly range: number
  /** The topology's namespace filter; "" for all. */
  readonly ns: string
  /** The topology's level: services, or instances in their services' boxes. */
  readonly level: "service" | "instance"
}

export const RANGES: ReadonlyArray<{ readonly minutes: number; readonly label: string }> = [
  { minutes: 5, label: "Last 5 min" },
  { minutes: 15, label: "Last 15 min" },
  { minutes: 30, label: "Last 30 min" },
  { minutes: 60, label: "Last 1 h" },
  { minutes: 120, label: "Last 2 h" }
]
export const DEFAULT_RANGE = 15

/** A path segment decoded; a malformed escape (`%E0%A4%A`) is kept as typed rather than throwing a URIError. */
const decodeSegment = (segment: string): string => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

export const parseHash = (hash: string): { route: Route; params: ViewParams } => {
  const [path = "", query = ""] = hash.replace(/^#/, "").split("?")
  const search = new URLSearchParams(query)
  const range = Number(search.get("range"))
  const params: ViewParams = {
    range: RANGES.some((r) => r.minutes === range) ? range : DEFAULT_RANGE,
    ns: search.get("ns") ?? "",
    level: search.get("level") === "instance" ? "instance" : "service"
  }
  const parts = path
    .split("/")
    .filter((p) => p !== "")
    .map(decodeSegment)
  if (parts[0] === "service" && parts.length === 2) return { route: { view: "service", service: parts[1]! }, params }
  if (parts[0] === "service" && parts[2] === "instance" && parts.length === 4) {
    return { route: { view: "instance", service: parts[1]!, instance: parts[3]! }, params }
  }
  if (parts[0] === "relation" && parts.length === 3) return { route: { view: "relation", source: parts[1]!, target: parts[2]! }, params }
  return { route: { view: "topology" }, params }
}

export const hrefFor = (route: Route, params: ViewParams): string => {
  const path =
    route.view === "topology"
      ? "/"
      : route.view === "service"
        ? `/service/${encodeURIComponent(route.service)}`
        : route.view === "instance"
          ? `/service/${encodeURIComponent(route.service)}/instance/${encodeURIComponent(route.instance)}`
          : `/relation/${encodeURIComponent(route.source)}/${encodeURIComponent(route.target)}`
  const query = new URLSearchParams()
  if (params.range !== DEFAULT_RANGE) query.set("range", String(params.range))
  if (params.ns !== "") query.set("ns", params.ns)
  if (params.level === "instance") query.set("level", "instance")
  const qs = query.toString()
  return `#${path}${qs ? `?${qs}` : ""}`
}
