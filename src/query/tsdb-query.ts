// The query stage over a Prometheus-compatible TSDB (storage mode `prometheus`, docs/scale-out.md): the same
// answers as the memory store's (./query-service.ts), from the meshsight_minute_* series every replica writes
// (src/domain/minute-families.ts). Each family's samples are summed over the range's minutes and over replicas
// in PromQL; the sums rebuild each entity's SeriesStats exactly, and the shared views (./views.ts) do the rest.
//
// A sample of minute m is stamped at m + 30 s (+ a few seconds, src/export/minute-writer.ts), so a window that
// ends on a minute boundary holds whole minutes: `sum_over_time(x[Δ])` evaluated at a range's end sums its
// minutes, and a query_range with a 60 s step and window gives one point per minute (which also tells which
// minutes had calls: the per-minute rates divide by them).
import { Clock, Effect, Layer } from "effect"
import { CALLS, ENTITY_LABELS, entityOf, type MinuteFamily, MINUTE_FAMILIES, TCP_CONNECTIONS } from "../domain/minute-families.ts"
import { MINUTE_MS, minuteOf } from "../domain/minute.ts"
import type { Entity } from "../domain/series.ts"
import { SeriesStats } from "../domain/series-stats.ts"
import { authHeaders } from "../export/settings.ts"
import { retentionMinutes } from "../store/metric-store.ts"
import { settingsConfig } from "../util/setting.ts"
import type { NamedMetrics, TimeRange } from "./api-model.ts"
import { FIRST_PAGE, type PageRequest, PageWindow } from "./page.ts"
import { labelMatchers, makePrometheusClient, type PrometheusClient, promString } from "./prometheus-client.ts"
import {
  prometheusBearerToken,
  prometheusHeaders,
  prometheusPassword,
  prometheusTimeoutMs,
  prometheusUrl,
  prometheusUsername
} from "./prometheus-settings.ts"
import { QueryService, type QueryServiceShape, type SeriesSelector, seriesKey } from "./query-service.ts"
import { oneMinute, rangeSummary } from "./range-summary.ts"
import {
  instanceTopologyScope,
  instanceTopologyView,
  type Merged,
  newTotals,
  ServiceWindow,
  serviceItems,
  serviceTopologyView,
  summaryOf,
  topologyScope,
  topologyView
} from "./views.ts"

const ENTITY_BY = ENTITY_LABELS.join(", ")
/** Families summed over the whole range in one instant query; CALLS and TCP_CONNECTIONS go minute by minute. */
const SUMMED = MINUTE_FAMILIES.filter((f) => f !== CALLS && f !== TCP_CONNECTIONS)
const byOf = (f: MinuteFamily) => (f.label === undefined ? ENTITY_BY : `${ENTITY_BY}, ${f.label}`)

/** The labels that pick one series of /api/series: those its key is made of (namespaces are not). */
const selectorMatchers = (s: SeriesSelector): string => {
  switch (s.scope) {
    case "service":
      return labelMatchers([
        ["scope", s.scope],
        ["service", s.service]
      ])
    case "instance":
      return labelMatchers([
        ["scope", s.scope],
        ["service", s.service],
        ["instance", s.instance]
      ])
    case "endpoint":
      return labelMatchers([
        ["scope", s.scope],
        ["service", s.service],
        ["endpoint", s.endpoint]
      ])
    case "serviceRelation":
      return labelMatchers([
        ["scope", s.scope],
        ["detect_point", s.detectPoint],
        ["source", s.source],
        ["target", s.target]
      ])
    case "instanceRelation":
      return labelMatchers([
        ["scope", s.scope],
        ["detect_point", s.detectPoint],
        ["source", s.source],
        ["source_instance", s.sourceInstance],
        ["target", s.target],
        ["target_instance", s.targetInstance]
      ])
  }
}

export const makeTsdbQueryService = (client: PrometheusClient, retention: number): QueryServiceShape => {
  const rangeSeconds = (range: TimeRange) => `${(range.end - range.start) / 1000}s`
  /** The per-minute points of a range: evaluated at the end of each of its minutes. */
  const perMinute = (expr: string, range: TimeRange) => client.range(expr, range.start + MINUTE_MS, range.end, MINUTE_MS)

  /** Every entity of the range that `selector` picks and `accept` keeps, its series summed over minutes and replicas. */
  const collect = (range: TimeRange, selector: string, accept: (e: Entity) => boolean = () => true) =>
    Effect.gen(function* () {
      const [summed, calls, tcp] = yield* Effect.all(
        [
          Effect.forEach(
            SUMMED,
            (f) =>
              Effect.map(
                client.instant(`sum by (${byOf(f)}) (sum_over_time(${f.name}{${selector}}[${rangeSeconds(range)}]))`, range.end),
                (rows) => [f, rows] as const
              ),
            { concurrency: "unbounded" }
          ),
          perMinute(`sum by (${ENTITY_BY}) (sum_over_time(${CALLS.name}{${selector}}[1m]))`, range),
          perMinute(`sum by (${ENTITY_BY}) (sum_over_time(${TCP_CONNECTIONS.name}{${selector}}[1m]))`, range)
        ],
        { concurrency: "unbounded" }
      )
      const merged = new Map<string, Merged>()
      const seriesOf = (labels: Readonly<Record<string, string>>): Merged | undefined => {
        const entity = entityOf(labels)
        if (entity === undefined || !accept(entity)) return undefined
        const key = seriesKey(entity)
        let m = merged.get(key)
        if (m === undefined) merged.set(key, (m = { entity, ...newTotals(entity.scope === "service") }))
        return m
      }
      // Namespace variants of one key arrive as rows of their own: minutes are summed per key before counting.
      const minutesOf = (rows: typeof calls, family: MinuteFamily, counts: (v: number) => boolean, count: (m: Merged) => void) => {
        const perKey = new Map<Merged, Map<number, number>>()
        for (const row of rows) {
          const m = seriesOf(row.metric)
          if (m === undefined) continue
          let byTime = perKey.get(m)
          if (byTime === undefined) perKey.set(m, (byTime = new Map()))
          for (const [t, v] of row.values) byTime.set(t, (byTime.get(t) ?? 0) + Number(v))
        }
        for (const [m, byTime] of perKey) {
          let total = 0
          for (const v of byTime.values()) {
            total += v
            if (counts(v)) count(m)
          }
          family.add(m.stats, "", total)
        }
      }
      minutesOf(
        calls,
        CALLS,
        (v) => v > 0,
        (m) => m.activity.callMinutes++
      )
      minutesOf(
        tcp,
        TCP_CONNECTIONS,
        () => true,
        (m) => m.activity.tcpMinutes++
      )
      for (const [f, rows] of summed) {
        for (const row of rows) {
          const m = seriesOf(row.metric)
          if (m !== undefined) f.add(m.stats, f.label === undefined ? "" : (row.metric[f.label] ?? ""), Number(row.value[1]))
        }
      }
      return merged
    })

  /** Whether any replica wrote anything naming the service within the retention window. */
  const isKnown = (service: string) =>
    Effect.gen(function* () {
      // Evaluated at the end of the current minute: a replica stopped with SIGTERM stamps that minute ahead of now.
      const at = minuteOf(yield* Clock.currentTimeMillis) + MINUTE_MS
      const window = `${retention}m`
      const any = (label: string) => `count(count_over_time(${CALLS.name}{${label}=${promString(service)}}[${window}]))`
      const rows = yield* client.instant(`${any("service")} or ${any("source")} or ${any("target")}`, at)
      return rows.length > 0
    })

  const namedPage = (service: string, range: TimeRange, page: PageRequest, scope: "instance" | "endpoint") =>
    Effect.gen(function* () {
      const merged = yield* collect(
        range,
        labelMatchers([
          ["scope", scope],
          ["service", service]
        ])
      )
      if (merged.size === 0 && !(yield* isKnown(service))) return undefined
      const window = new PageWindow<Merged>(page)
      for (const m of merged.values()) {
        const e = m.entity
        if (e.scope === "instance") window.offer(e.instance, () => m)
        else if (e.scope === "endpoint") window.offer(e.endpoint, () => m)
      }
      const { entries, nextCursor } = window.result(page.limit)
      const items: Array<NamedMetrics> = entries.map(([name, m]) => ({ name, metrics: summaryOf(m) }))
      return { items, nextCursor }
    })

  const serviceScopes = labelMatchers([], { scope: "service|serviceRelation" })

  return {
    services: (range, namespace, page = FIRST_PAGE) =>
      Effect.gen(function* () {
        const merged = yield* collect(range, serviceScopes)
        const window = new ServiceWindow(page, namespace)
        for (const m of merged.values()) window.offer(m.entity)
        const { entries, nextCursor } = window.result(page.limit)
        const services = serviceItems(
          entries,
          entries.map(([name]) => merged.get(seriesKey({ scope: "service", service: name })))
        )
        return { range, services, nextCursor }
      }),
    instances: (service, range, page = FIRST_PAGE) =>
      Effect.map(namedPage(service, range, page, "instance"), (found) =>
        found === undefined ? undefined : { range, service, instances: found.items, nextCursor: found.nextCursor }
      ),
    endpoints: (service, range, page = FIRST_PAGE) =>
      Effect.map(namedPage(service, range, page, "endpoint"), (found) =>
        found === undefined ? undefined : { range, service, endpoints: found.items, nextCursor: found.nextCursor }
      ),
    topology: (range, namespace) =>
      Effect.map(collect(range, serviceScopes, topologyScope), (merged) => topologyView(range, merged, namespace)),
    serviceTopology: (service, range) =>
      Effect.gen(function* () {
        const merged = yield* collect(
          range,
          serviceScopes,
          (e) => e.scope === "service" || (e.scope === "serviceRelation" && (e.source === service || e.target === service))
        )
        const topology = serviceTopologyView(range, merged, service)
        return topology.nodes.length > 0 || (yield* isKnown(service)) ? topology : undefined
      }),
    instanceTopology: (range, namespace) =>
      Effect.map(collect(range, labelMatchers([], { scope: "service|instance|instanceRelation" }), instanceTopologyScope), (merged) =>
        instanceTopologyView(range, merged, namespace)
      ),
    storageProblem: Effect.flatMap(Clock.currentTimeMillis, (now) =>
      client.instant("vector(1)", now).pipe(
        Effect.as(undefined),
        Effect.catch((e) => Effect.succeed(e.message)),
        // Readiness probes wait a second or two: a TSDB that does not answer by then counts as away.
        Effect.timeoutOrElse({ duration: 2_000, orElse: () => Effect.succeed(`${client.name}: no answer within 2 s`) })
      )
    ),
    series: (selector, range) =>
      Effect.gen(function* () {
        const selected = selectorMatchers(selector)
        const answers = yield* Effect.forEach(
          MINUTE_FAMILIES,
          (f) =>
            Effect.map(
              perMinute(`sum${f.label === undefined ? "" : ` by (${f.label})`} (sum_over_time(${f.name}{${selected}}[1m]))`, range),
              (rows) => [f, rows] as const
            ),
          { concurrency: "unbounded" }
        )
        const byMinute = new Map<number, SeriesStats>()
        const [[, callRows]] = answers
        // A minute has a point when the entity had a series in it (CALLS is written for every series).
        for (const row of callRows)
          for (const [t] of row.values) byMinute.set(t * 1000 - MINUTE_MS, new SeriesStats(selector.scope === "service"))
        for (const [f, rows] of answers) {
          for (const row of rows) {
            for (const [t, v] of row.values) {
              const stats = byMinute.get(t * 1000 - MINUTE_MS)
              if (stats !== undefined) f.add(stats, f.label === undefined ? "" : (row.metric[f.label] ?? ""), Number(v))
            }
          }
        }
        const points = []
        for (let t = range.start; t < range.end; t += MINUTE_MS) {
          const stats = byMinute.get(t)
          points.push({ time: t, metrics: stats === undefined ? null : rangeSummary(stats, oneMinute(stats)) })
        }
        return { range, scope: selector.scope, points }
      })
  }
}

const clientSettings = {
  prometheusUrl,
  prometheusTimeoutMs,
  prometheusBearerToken,
  prometheusUsername,
  prometheusPassword,
  prometheusHeaders,
  retentionMinutes
}

/** The client to MESHSIGHT_PROMETHEUS_URL with its auth and timeout. */
export const prometheusClientConfig = Effect.gen(function* () {
  const c = yield* settingsConfig(clientSettings)
  const client = makePrometheusClient({
    url: c.prometheusUrl,
    timeoutMs: c.prometheusTimeoutMs,
    headers: authHeaders({
      username: c.prometheusUsername,
      password: c.prometheusPassword,
      bearerToken: c.prometheusBearerToken,
      headers: c.prometheusHeaders
    })
  })
  return { client, retentionMinutes: c.retentionMinutes }
})

export const TsdbQueryServiceLive = Layer.effect(
  QueryService,
  Effect.map(prometheusClientConfig, ({ client, retentionMinutes }) => makeTsdbQueryService(client, retentionMinutes))
)
