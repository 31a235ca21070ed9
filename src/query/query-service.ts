// The query stage: store → API views (src/query/api-model.ts). Ranges are [start, end) in whole minutes.
import { Context, Effect, Layer } from "effect"
import { endpointKey, instanceKey, instanceRelationKey, serviceKey, serviceRelationKey } from "../aggregation/entity.ts"
import { MINUTE_MS } from "../domain/minute.ts"
import type { Entity, Series as StoredSeries } from "../domain/series.ts"
import { SeriesStats } from "../domain/series-stats.ts"
import { MetricStore } from "../store/metric-store.ts"
import { breathe, compareNames, FIRST_PAGE, type PageRequest, PageWindow, SLICE } from "./page.ts"
import type {
  EndpointList,
  InstanceEdge,
  InstanceList,
  InstanceNode,
  InstanceTopology,
  MetricSummary,
  NamedMetrics,
  Scope,
  Series,
  ServiceItem,
  ServiceList,
  TimeRange,
  Topology
} from "./api-model.ts"
import { type Activity, addMinute, oneMinute, rangeSummary } from "./range-summary.ts"

/** What identifies one series, by scope (the /api/series query parameters). */
export type SeriesSelector =
  | { readonly scope: "service"; readonly service: string }
  | { readonly scope: "instance"; readonly service: string; readonly instance: string }
  | { readonly scope: "endpoint"; readonly service: string; readonly endpoint: string }
  | { readonly scope: "serviceRelation"; readonly source: string; readonly target: string; readonly detectPoint: "client" | "server" }
  | {
      readonly scope: "instanceRelation"
      readonly source: string
      readonly sourceInstance: string
      readonly target: string
      readonly targetInstance: string
      readonly detectPoint: "client" | "server"
    }

export interface QueryServiceShape {
  /** One page of the services (FIRST_PAGE by default). */
  readonly services: (range: TimeRange, namespace?: string, page?: PageRequest) => Effect.Effect<ServiceList>
  /** `undefined` when the store holds nothing about the service at all. */
  readonly instances: (service: string, range: TimeRange, page?: PageRequest) => Effect.Effect<InstanceList | undefined>
  readonly endpoints: (service: string, range: TimeRange, page?: PageRequest) => Effect.Effect<EndpointList | undefined>
  readonly topology: (range: TimeRange, namespace?: string) => Effect.Effect<Topology>
  readonly serviceTopology: (service: string, range: TimeRange) => Effect.Effect<Topology | undefined>
  readonly instanceTopology: (range: TimeRange, namespace?: string) => Effect.Effect<InstanceTopology>
  readonly series: (selector: SeriesSelector, range: TimeRange) => Effect.Effect<Series>
}

export class QueryService extends Context.Service<QueryService, QueryServiceShape>()("meshsight/QueryService") {}

/** A series merged over the minutes of a range, with how many of those minutes had calls or connections. */
interface Totals {
  readonly stats: SeriesStats
  readonly activity: Activity
}

interface Merged extends Totals {
  readonly entity: Entity
}

const summaryOf = (m: Totals) => rangeSummary(m.stats, m.activity)
const newTotals = (hasApdex: boolean): Totals => ({ stats: new SeriesStats(hasApdex), activity: { callMinutes: 0, tcpMinutes: 0 } })
const mergeMinute = (into: Totals, minute: SeriesStats) => {
  into.stats.merge(minute)
  addMinute(into.activity, minute)
}

const byName = <T extends { readonly name: string }>(a: T, b: T) => compareNames(a.name, b.name)

/**
 * A topology holds at most this many nodes and edges each (the first by name); `truncated` says when it was cut.
 * The lists are paged instead; a graph is drawn whole or not at all.
 */
export const MAX_TOPOLOGY_ITEMS = 5000

/**
 * Queries walk the store in slices of SLICE series and let the event loop run between them (page.ts), so that the
 * largest query delays ingest and /healthz by a slice, not by its whole run.
 */
export const makeQueryService = (store: typeof MetricStore.Service): QueryServiceShape => {
  /** Calls `visit` with every series of the range, yielding to the event loop every SLICE series. */
  const forEachSeries = (range: TimeRange, visit: (key: string, s: StoredSeries) => void) =>
    Effect.gen(function* () {
      let n = 0
      for (const [, bucket] of store.read(range.start, range.end)) {
        for (const [key, s] of bucket) {
          visit(key, s)
          if (++n === SLICE) {
            n = 0
            yield* breathe
          }
        }
      }
    })

  /** Every series of the range that `accept` keeps, merged across minutes. */
  const collect = (range: TimeRange, accept: (e: Entity) => boolean): Effect.Effect<Map<string, Merged>> =>
    Effect.suspend(() => {
      const out = new Map<string, Merged>()
      const add = (key: string, s: StoredSeries) => {
        if (!accept(s.entity)) return
        let m = out.get(key)
        if (m === undefined) {
          m = { entity: s.entity, ...newTotals(s.stats.hasApdex) }
          out.set(key, m)
        }
        mergeMinute(m, s.stats)
      }
      return Effect.as(forEachSeries(range, add), out)
    })

  /** The series of `keys` over the range, merged across minutes (a page's worth: looked up, not walked). */
  const mergedByKey = (range: TimeRange, keys: ReadonlyArray<string>) =>
    Effect.gen(function* () {
      const out = keys.map((): Totals | undefined => undefined)
      let n = 0
      for (const [, bucket] of store.read(range.start, range.end)) {
        for (let i = 0; i < keys.length; i++) {
          const s = bucket.get(keys[i])
          if (s !== undefined) {
            mergeMinute((out[i] ??= newTotals(s.stats.hasApdex)), s.stats)
          }
        }
        n += keys.length
        if (n >= SLICE) {
          n = 0
          yield* breathe
        }
      }
      return out
    })

  const mentions = (e: Entity, service: string) =>
    e.scope === "serviceRelation" || e.scope === "instanceRelation" ? e.source === service || e.target === service : e.service === service

  /** Whether anything in the whole retention window names the service. */
  const isKnown = (service: string) =>
    Effect.gen(function* () {
      const own = serviceKey(service)
      if (store.read(0, Number.MAX_SAFE_INTEGER).some(([, bucket]) => bucket.has(own))) return true
      let known = false
      yield* forEachSeries({ start: 0, end: Number.MAX_SAFE_INTEGER }, (_, s) => {
        if (!known && mentions(s.entity, service)) known = true
      })
      return known
    })

  /** One page of a service's instances or endpoints: names picked in one walk, metrics merged for the page only. */
  const namedPage = (
    service: string,
    range: TimeRange,
    page: PageRequest,
    nameOf: (e: Entity) => string | undefined,
    keyOf: (name: string) => string
  ) =>
    Effect.gen(function* () {
      const window = new PageWindow<true>(page)
      let any = false
      yield* forEachSeries(range, (_, s) => {
        const name = nameOf(s.entity)
        if (name === undefined) return
        any = true
        window.offer(name, () => true)
      })
      if (!any && !(yield* isKnown(service))) return undefined
      const { entries, nextCursor } = window.result(page.limit)
      const stats = yield* mergedByKey(
        range,
        entries.map(([name]) => keyOf(name))
      )
      const items: Array<NamedMetrics> = []
      entries.forEach(([name], i) => {
        const st = stats[i]
        if (st !== undefined) items.push({ name, metrics: summaryOf(st) })
      })
      return { items, nextCursor }
    })

  /** Nodes and edges from the services and relations of a range: the services `keepNode` picks and both ends of every edge kept. */
  const graph = (
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

  return {
    services: (range, namespace, page = FIRST_PAGE) =>
      Effect.gen(function* () {
        // A service listed from a relation's end only has no metrics; its own series, where there is one, names
        // its namespace.
        const window = new PageWindow<{ namespace: string; own: boolean }>(page)
        const add = (name: string, ns: string, own: boolean) => {
          if (namespace !== undefined && ns !== namespace) return
          const item = window.offer(name, () => ({ namespace: ns, own }))
          if (item !== undefined && own && !item.own) {
            item.namespace = ns
            item.own = true
          }
        }
        yield* forEachSeries(range, (_, s) => {
          const e = s.entity
          if (e.scope === "service") add(e.service, e.namespace, true)
          else if (e.scope === "serviceRelation") {
            add(e.source, e.sourceNamespace, false)
            add(e.target, e.targetNamespace, false)
          }
        })
        const { entries, nextCursor } = window.result(page.limit)
        const stats = yield* mergedByKey(
          range,
          entries.map(([name]) => serviceKey(name))
        )
        const services: Array<ServiceItem> = entries.map(([name, item], i) => {
          const st = stats[i]
          return { name, namespace: item.namespace, metrics: item.own && st !== undefined ? summaryOf(st) : null }
        })
        return { range, services, nextCursor }
      }),
    instances: (service, range, page = FIRST_PAGE) =>
      Effect.map(
        namedPage(
          service,
          range,
          page,
          (e) => (e.scope === "instance" && e.service === service ? e.instance : undefined),
          (name) => instanceKey(service, name)
        ),
        (found) => (found === undefined ? undefined : { range, service, instances: found.items, nextCursor: found.nextCursor })
      ),
    endpoints: (service, range, page = FIRST_PAGE) =>
      Effect.map(
        namedPage(
          service,
          range,
          page,
          (e) => (e.scope === "endpoint" && e.service === service ? e.endpoint : undefined),
          (name) => endpointKey(service, name)
        ),
        (found) => (found === undefined ? undefined : { range, service, endpoints: found.items, nextCursor: found.nextCursor })
      ),
    topology: (range, namespace) =>
      Effect.map(
        collect(range, (e) => e.scope === "service" || e.scope === "serviceRelation"),
        (merged) => {
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
      ),
    serviceTopology: (service, range) =>
      Effect.gen(function* () {
        const merged = yield* collect(range, (e) => e.scope === "service" || (e.scope === "serviceRelation" && mentions(e, service)))
        const topology = graph(
          range,
          merged,
          () => true,
          (name) => name === service
        )
        return topology.nodes.length > 0 || (yield* isKnown(service)) ? topology : undefined
      }),
    instanceTopology: (range, namespace) =>
      Effect.map(
        collect(range, (e) => e.scope === "service" || e.scope === "instance" || e.scope === "instanceRelation"),
        (merged) => {
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
            a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance)
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
      ),
    series: (selector, range) =>
      Effect.sync(() => {
        const key = seriesKey(selector)
        const byMinute = new Map<number, StoredSeries>()
        for (const [minute, bucket] of store.read(range.start, range.end)) {
          const s = bucket.get(key)
          if (s) byMinute.set(minute, s)
        }
        const points = []
        for (let t = range.start; t < range.end; t += MINUTE_MS) {
          const s = byMinute.get(t)
          points.push({ time: t, metrics: s ? rangeSummary(s.stats, oneMinute(s.stats)) : null })
        }
        return { range, scope: selector.scope satisfies Scope, points }
      })
  }
}

const seriesKey = (s: SeriesSelector): string => {
  switch (s.scope) {
    case "service":
      return serviceKey(s.service)
    case "instance":
      return instanceKey(s.service, s.instance)
    case "endpoint":
      return endpointKey(s.service, s.endpoint)
    case "serviceRelation":
      return serviceRelationKey(s.detectPoint, s.source, s.target)
    case "instanceRelation":
      return instanceRelationKey(s.detectPoint, s.source, s.sourceInstance, s.target, s.targetInstance)
  }
}

export const QueryServiceLive = Layer.effect(QueryService, Effect.map(MetricStore, makeQueryService))
