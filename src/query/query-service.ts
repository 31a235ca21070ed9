// The query stage: store → API views (src/query/api-model.ts). Ranges are [start, end) in whole minutes.
import { Context, Effect, Layer, Schema } from "effect"
import { endpointKey, instanceKey, instanceRelationKey, serviceKey, serviceRelationKey } from "../aggregation/entity.ts"
import { MINUTE_MS } from "../domain/minute.ts"
import type { Entity, Series as StoredSeries } from "../domain/series.ts"
import { MetricStore } from "../store/metric-store.ts"
import { breathe, FIRST_PAGE, type PageRequest, PageWindow, SLICE } from "./page.ts"
import type {
  EndpointList,
  InstanceList,
  InstanceTopology,
  NamedMetrics,
  Scope,
  Series,
  ServiceList,
  TimeRange,
  Topology
} from "./api-model.ts"
import { oneMinute, rangeSummary } from "./range-summary.ts"
import {
  instanceTopologyScope,
  instanceTopologyView,
  type Merged,
  mergeMinute,
  newTotals,
  ServiceWindow,
  serviceItems,
  serviceTopologyView,
  summaryOf,
  type Totals,
  topologyScope,
  topologyView
} from "./views.ts"

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

/** The store the answers come from could not be read (storage mode `prometheus`: the TSDB is away); HTTP 503. */
export class StorageUnavailable extends Schema.TaggedError<StorageUnavailable>()("StorageUnavailable", { message: Schema.String }) {}

/** The query stage's answers. The memory store's never fail; a TSDB's fail with StorageUnavailable. */
export interface QueryServiceShape {
  /** One page of the services (FIRST_PAGE by default). */
  readonly services: (range: TimeRange, namespace?: string, page?: PageRequest) => Effect.Effect<ServiceList, StorageUnavailable>
  /** `undefined` when the store holds nothing about the service at all. */
  readonly instances: (service: string, range: TimeRange, page?: PageRequest) => Effect.Effect<InstanceList | undefined, StorageUnavailable>
  readonly endpoints: (service: string, range: TimeRange, page?: PageRequest) => Effect.Effect<EndpointList | undefined, StorageUnavailable>
  readonly topology: (range: TimeRange, namespace?: string) => Effect.Effect<Topology, StorageUnavailable>
  readonly serviceTopology: (service: string, range: TimeRange) => Effect.Effect<Topology | undefined, StorageUnavailable>
  readonly instanceTopology: (range: TimeRange, namespace?: string) => Effect.Effect<InstanceTopology, StorageUnavailable>
  readonly series: (selector: SeriesSelector, range: TimeRange) => Effect.Effect<Series, StorageUnavailable>
  /** Why the store cannot answer now (undefined when it can), for /readyz. */
  readonly storageProblem: Effect.Effect<string | undefined>
}

export class QueryService extends Context.Service<QueryService, QueryServiceShape>()("meshsight/QueryService") {}

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

  return {
    services: (range, namespace, page = FIRST_PAGE) =>
      Effect.gen(function* () {
        const window = new ServiceWindow(page, namespace)
        yield* forEachSeries(range, (_, s) => window.offer(s.entity))
        const { entries, nextCursor } = window.result(page.limit)
        const stats = yield* mergedByKey(
          range,
          entries.map(([name]) => serviceKey(name))
        )
        const services = serviceItems(entries, stats)
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
    topology: (range, namespace) => Effect.map(collect(range, topologyScope), (merged) => topologyView(range, merged, namespace)),
    serviceTopology: (service, range) =>
      Effect.gen(function* () {
        const merged = yield* collect(range, (e) => e.scope === "service" || (e.scope === "serviceRelation" && mentions(e, service)))
        const topology = serviceTopologyView(range, merged, service)
        return topology.nodes.length > 0 || (yield* isKnown(service)) ? topology : undefined
      }),
    instanceTopology: (range, namespace) =>
      Effect.map(collect(range, instanceTopologyScope), (merged) => instanceTopologyView(range, merged, namespace)),
    storageProblem: Effect.succeed(undefined),
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

export const seriesKey = (s: SeriesSelector): string => {
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
