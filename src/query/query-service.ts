// The query stage: store → API views (src/query/api-model.ts). Ranges are [start, end) in whole minutes.
import { Context, Effect, Layer } from "effect"
import { endpointKey, instanceKey, instanceRelationKey, serviceKey, serviceRelationKey } from "../aggregation/entity.ts"
import { MINUTE_MS } from "../domain/minute.ts"
import type { Entity, Series as StoredSeries } from "../domain/series.ts"
import { SeriesStats } from "../domain/series-stats.ts"
import { MetricStore } from "../store/metric-store.ts"
import type {
  Edge,
  EndpointList,
  InstanceList,
  MetricSummary,
  NamedMetrics,
  Scope,
  Series,
  ServiceItem,
  ServiceList,
  TimeRange,
  Topology
} from "./api-model.ts"

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
  readonly services: (range: TimeRange, namespace?: string) => ServiceList
  /** `undefined` when the store holds nothing about the service at all. */
  readonly instances: (service: string, range: TimeRange) => InstanceList | undefined
  readonly endpoints: (service: string, range: TimeRange) => EndpointList | undefined
  readonly topology: (range: TimeRange, namespace?: string) => Topology
  readonly serviceTopology: (service: string, range: TimeRange) => Topology | undefined
  readonly series: (selector: SeriesSelector, range: TimeRange) => Series
}

export class QueryService extends Context.Service<QueryService, QueryServiceShape>()("meshsight/QueryService") {}

interface Merged {
  readonly entity: Entity
  readonly stats: SeriesStats
}

const minutesOf = (range: TimeRange) => Math.max(1, Math.round((range.end - range.start) / MINUTE_MS))

const byName = <T extends { readonly name: string }>(a: T, b: T) => a.name.localeCompare(b.name)

export const makeQueryService = (store: typeof MetricStore.Service): QueryServiceShape => {
  /** Every series of the range that `accept` keeps, merged across minutes. */
  const collect = (range: TimeRange, accept: (e: Entity) => boolean): Map<string, Merged> => {
    const out = new Map<string, Merged>()
    for (const [, bucket] of store.read(range.start, range.end)) {
      for (const [key, s] of bucket) {
        if (!accept(s.entity)) continue
        let m = out.get(key)
        if (m === undefined) {
          m = { entity: s.entity, stats: new SeriesStats(s.stats.hasApdex) }
          out.set(key, m)
        }
        m.stats.merge(s.stats)
      }
    }
    return out
  }

  const mentions = (e: Entity, service: string) =>
    e.scope === "serviceRelation" || e.scope === "instanceRelation"
      ? e.source === service || e.target === service
      : e.service === service

  /** Whether anything in the whole retention window names the service. */
  const isKnown = (service: string) =>
    store.read(0, Number.MAX_SAFE_INTEGER).some(([, bucket]) => {
      if (bucket.has(serviceKey(service))) return true
      for (const s of bucket.values()) if (mentions(s.entity, service)) return true
      return false
    })

  const namedMetrics = (merged: Map<string, Merged>, name: (e: Entity) => string, minutes: number): Array<NamedMetrics> =>
    [...merged.values()].map((m) => ({ name: name(m.entity), metrics: m.stats.summary(minutes) })).sort(byName)

  /** Nodes and edges from the services and relations of a range: the services `keepNode` picks and both ends of every edge kept. */
  const graph = (
    range: TimeRange,
    merged: Map<string, Merged>,
    keepEdge: (source: string, target: string) => boolean,
    keepNode: (service: string) => boolean
  ): Topology => {
    const minutes = minutesOf(range)
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
      edge[e.detectPoint] = m.stats.summary(minutes)
      edges.set(key, edge)
    }
    for (const m of merged.values()) {
      const e = m.entity
      if (e.scope !== "service") continue
      const existing = nodes.get(e.service)
      if (existing) existing.metrics = m.stats.summary(minutes)
    }
    return {
      range,
      nodes: [...nodes].map(([name, n]) => ({ name, namespace: n.namespace, metrics: n.metrics })).sort(byName),
      edges: [...edges.values()].sort((a, b) => a.source.localeCompare(b.source) || a.target.localeCompare(b.target))
    }
  }

  return {
    services: (range, namespace) => {
      const minutes = minutesOf(range)
      const merged = collect(range, (e) => e.scope === "service" || e.scope === "serviceRelation")
      const items = new Map<string, ServiceItem>()
      const add = (name: string, ns: string, metrics: MetricSummary | null) => {
        if (namespace !== undefined && ns !== namespace) return
        const prior = items.get(name)
        if (prior === undefined || (prior.metrics === null && metrics !== null)) items.set(name, { name, namespace: ns, metrics })
      }
      for (const m of merged.values()) {
        const e = m.entity
        if (e.scope === "service") add(e.service, e.namespace, m.stats.summary(minutes))
        else if (e.scope === "serviceRelation") {
          add(e.source, e.sourceNamespace, null)
          add(e.target, e.targetNamespace, null)
        }
      }
      return { range, services: [...items.values()].sort(byName) }
    },
    instances: (service, range) => {
      const merged = collect(range, (e) => e.scope === "instance" && e.service === service)
      if (merged.size === 0 && !isKnown(service)) return undefined
      const instances = namedMetrics(merged, (e) => (e.scope === "instance" ? e.instance : ""), minutesOf(range))
      return { range, service, instances }
    },
    endpoints: (service, range) => {
      const merged = collect(range, (e) => e.scope === "endpoint" && e.service === service)
      if (merged.size === 0 && !isKnown(service)) return undefined
      const endpoints = namedMetrics(merged, (e) => (e.scope === "endpoint" ? e.endpoint : ""), minutesOf(range))
      return { range, service, endpoints }
    },
    topology: (range, namespace) => {
      const merged = collect(range, (e) => e.scope === "service" || e.scope === "serviceRelation")
      if (namespace === undefined) return graph(range, merged, () => true, () => true)
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
    },
    serviceTopology: (service, range) => {
      const merged = collect(range, (e) => e.scope === "service" || (e.scope === "serviceRelation" && mentions(e, service)))
      const topology = graph(range, merged, () => true, (name) => name === service)
      return topology.nodes.length > 0 || isKnown(service) ? topology : undefined
    },
    series: (selector, range) => {
      const key = seriesKey(selector)
      const byMinute = new Map<number, StoredSeries>()
      for (const [minute, bucket] of store.read(range.start, range.end)) {
        const s = bucket.get(key)
        if (s) byMinute.set(minute, s)
      }
      const points = []
      for (let t = range.start; t < range.end; t += MINUTE_MS) {
        const s = byMinute.get(t)
        points.push({ time: t, metrics: s ? s.stats.summary(1) : null })
      }
      return { range, scope: selector.scope satisfies Scope, points }
    }
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
