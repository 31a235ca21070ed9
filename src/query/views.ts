// The API's views built from series merged over a range (a topology, the instance topology), shared by the memory
// store's query service (./query-service.ts) and the TSDB's (./tsdb-query.ts): both hand these a map of merged
// series by key; the views decide what is a node, an edge, and in which namespace.
import type { Entity } from "../domain/series.ts"
import { SeriesStats } from "../domain/series-stats.ts"
import type { InstanceEdge, InstanceNode, InstanceTopology, MetricSummary, ServiceItem, TimeRange, Topology } from "./api-model.ts"
import { compareNames, type PageRequest, PageWindow } from "./page.ts"
import { type Activity, addMinute, rangeSummary } from "./range-summary.ts"

/** A series merged over the minutes of a range, with how many of those minutes had calls or connections. */
export interface Totals {
  readonly stats: SeriesStats
  readonly activity: Activity
}

export interface Merged extends Totals {
  readonly entity: Entity
}

export const summaryOf = (m: Totals) => rangeSummary(m.stats, m.activity)
export const newTotals = (hasApdex: boolean): Totals => ({ stats: new SeriesStats(hasApdex), activity: { callMinutes: 0, tcpMinutes: 0 } })
export const mergeMinute = (into: Totals, minute: SeriesStats) => {
  into.stats.merge(minute)
  addMinute(into.activity, minute)
}

const byName = <T extends { readonly name: string }>(a: T, b: T) => compareNames(a.name, b.name)

/**
 * A topology holds at most this many nodes and edges each (the first by name); `truncated` says when it was cut.
 * The lists are paged instead; a graph is drawn whole or not at all.
 */
export const MAX_TOPOLOGY_ITEMS = 5000

/** Nodes and edges from the services and relations of a range: the services `keepNode` picks and both ends of every edge kept. */
export const graph = (
  range: TimeRange,
  merged: Map<string, Merged>,
  keepEdge: (source: string, target: string) => boolean,
  keepNode: (service: string) => boolean
): Topology => {
  const nodes = new Map<string, { namespace: string; metrics: MetricSummary | null }>()
  const edges = new Map<string, { source: string; target: string; client: MetricSummary | null; server: MetricSummary | null }>()
  const node = (name: string, namespace: string) => {
    if (!nodes.has(name)) nodes.set(name, { namespace, metrics: null })
  }
  for (const m of merged.values()) {
    const e = m.entity
    if (e.scope === "service" && keepNode(e.service)) node(e.service, e.namespace)
    if (e.scope !== "serviceRelation" || !keepEdge(e.source, e.target)) continue
    node(e.source, e.sourceNamespace)
    node(e.target, e.targetNamespace)
    const key = `${e.source}\u0000${e.target}`
    const edge = edges.get(key) ?? { source: e.source, target: e.target, client: null, server: null }
    edge[e.detectPoint] = summaryOf(m)
    edges.set(key, edge)
  }
  for (const m of merged.values()) {
    const e = m.entity
    if (e.scope !== "service") continue
    const existing = nodes.get(e.service)
    if (existing) existing.metrics = summaryOf(m)
  }
  const allNodes = [...nodes].map(([name, n]) => ({ name, namespace: n.namespace, metrics: n.metrics })).sort(byName)
  const allEdges = [...edges.values()].sort((a, b) => compareNames(a.source, b.source) || compareNames(a.target, b.target))
  const truncated = allNodes.length > MAX_TOPOLOGY_ITEMS || allEdges.length > MAX_TOPOLOGY_ITEMS
  return {
    range,
    nodes: allNodes.slice(0, MAX_TOPOLOGY_ITEMS),
    edges: allEdges.slice(0, MAX_TOPOLOGY_ITEMS),
    truncated
  }
}

/** Which entities a topology reads: services and the relations between them. */
export const topologyScope = (e: Entity) => e.scope === "service" || e.scope === "serviceRelation"
/** Which entities the instance topology reads. */
export const instanceTopologyScope = (e: Entity) => e.scope === "service" || e.scope === "instance" || e.scope === "instanceRelation"

/** The service topology, or a namespace's part of it (src/query/api-model.ts Topology). */
export const topologyView = (range: TimeRange, merged: Map<string, Merged>, namespace: string | undefined): Topology => {
  if (namespace === undefined)
    return graph(
      range,
      merged,
      () => true,
      () => true
    )
  const inNamespace = new Set<string>()
  for (const m of merged.values()) {
    const e = m.entity
    if (e.scope === "service" && e.namespace === namespace) inNamespace.add(e.service)
    if (e.scope === "serviceRelation") {
      if (e.sourceNamespace === namespace) inNamespace.add(e.source)
      if (e.targetNamespace === namespace) inNamespace.add(e.target)
    }
  }
  // Calls that cross into or out of the namespace stay visible, with the outside service at their far end.
  const keep = (service: string) => inNamespace.has(service)
  return graph(range, merged, (s, t) => keep(s) || keep(t), keep)
}

/** One service and its neighbours: its own metrics, and the relations that name it (merged holds only those). */
export const serviceTopologyView = (range: TimeRange, merged: Map<string, Merged>, service: string): Topology =>
  graph(
    range,
    merged,
    () => true,
    (name) => name === service
  )

/** The instances and the calls between them, or a namespace's part (src/query/api-model.ts InstanceTopology). */
export const instanceTopologyView = (range: TimeRange, merged: Map<string, Merged>, namespace: string | undefined): InstanceTopology => {
  // An instance relation names services, not namespaces: a service's namespace comes from its own series.
  const namespaceOf = new Map<string, string>()
  for (const m of merged.values())
    if (m.entity.scope === "service" || m.entity.scope === "instance") namespaceOf.set(m.entity.service, m.entity.namespace)
  const ns = (service: string) => namespaceOf.get(service) ?? ""
  const inside = (service: string) => namespace === undefined || ns(service) === namespace
  const nodes = new Map<string, InstanceNode>()
  const node = (service: string, instance: string, metrics: MetricSummary | null) => {
    const key = `${service}\u0000${instance}`
    const prior = nodes.get(key)
    if (prior === undefined || (prior.metrics === null && metrics !== null))
      nodes.set(key, { service, instance, namespace: ns(service), metrics })
  }
  const edges = new Map<string, { -readonly [K in keyof InstanceEdge]: InstanceEdge[K] }>()
  for (const m of merged.values()) {
    const e = m.entity
    if (e.scope === "instance" && inside(e.service)) node(e.service, e.instance, summaryOf(m))
    if (e.scope !== "instanceRelation" || !(inside(e.source) || inside(e.target))) continue
    node(e.source, e.sourceInstance, null)
    node(e.target, e.targetInstance, null)
    const key = [e.source, e.sourceInstance, e.target, e.targetInstance].join("\u0000")
    const edge = edges.get(key) ?? {
      source: e.source,
      sourceInstance: e.sourceInstance,
      target: e.target,
      targetInstance: e.targetInstance,
      client: null,
      server: null
    }
    edge[e.detectPoint] = summaryOf(m)
    edges.set(key, edge)
  }
  const order = (a: { service: string; instance: string }, b: { service: string; instance: string }) =>
    compareNames(a.service, b.service) || compareNames(a.instance, b.instance)
  return {
    range,
    nodes: [...nodes.values()].sort(order),
    edges: [...edges.values()].sort(
      (a, b) =>
        order({ service: a.source, instance: a.sourceInstance }, { service: b.source, instance: b.sourceInstance }) ||
        order({ service: a.target, instance: a.targetInstance }, { service: b.target, instance: b.targetInstance })
    )
  }
}

/**
 * The services of a range, one page of them, offered entity by entity: a service's own series names its
 * namespace; a service seen only at a relation's end is listed too, without metrics.
 */
export class ServiceWindow {
  private readonly window: PageWindow<{ namespace: string; own: boolean }>
  private readonly namespace: string | undefined
  constructor(page: PageRequest, namespace: string | undefined) {
    this.window = new PageWindow(page)
    this.namespace = namespace
  }

  offer(e: Entity): void {
    if (e.scope === "service") this.add(e.service, e.namespace, true)
    else if (e.scope === "serviceRelation") {
      this.add(e.source, e.sourceNamespace, false)
      this.add(e.target, e.targetNamespace, false)
    }
  }

  private add(name: string, ns: string, own: boolean): void {
    if (this.namespace !== undefined && ns !== this.namespace) return
    const item = this.window.offer(name, () => ({ namespace: ns, own }))
    if (item !== undefined && own && !item.own) {
      item.namespace = ns
      item.own = true
    }
  }

  result(limit: number) {
    return this.window.result(limit)
  }
}

/** The page's services with their own series merged over the range (`stats[i]` for `entries[i]`). */
export const serviceItems = (
  entries: ReadonlyArray<readonly [string, { readonly namespace: string; readonly own: boolean }]>,
  stats: ReadonlyArray<Totals | undefined>
): Array<ServiceItem> =>
  entries.map(([name, item], i) => {
    const st = stats[i]
    return { name, namespace: item.namespace, metrics: item.own && st !== undefined ? summaryOf(st) : null }
  })
