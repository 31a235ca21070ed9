// The proxy views over a Prometheus-compatible TSDB (storage mode `prometheus`, docs/scale-out.md): the minutes
// the replicas wrote as meshsight_proxy_minute_* (src/export/proxy-minute-writer.ts) are read back, one query_range
// per family with a 60 s step, into the same per-minute structures the memory store holds, and the same views
// (./proxy-query.ts) answer from them: any replica shows any proxy, exactly as the replica holding its stream.
//
// A minute's sample is stamped inside it, so the point evaluated at a minute's end with a [1m] window is that
// minute's. One instance's minute normally comes from one replica; should two have written it (its stream moved
// during the minute), gauges take the larger value and increases add up.
import { Clock, Effect, Layer } from "effect"
import { MINUTE_MS, minuteOf } from "../domain/minute.ts"
import { CLUSTER_STAT_COUNTS, PROXY_MINUTE_FAMILIES } from "../export/proxy-minute-writer.ts"
import {
  CLUSTER_STATS,
  type ClusterMinute,
  type InstanceMinute,
  type InstanceState,
  SERVER_STATS,
  serverSlot
} from "../proxy-metrics/proxy-metric-store.ts"
import type { TimeRange } from "./api-model.ts"
import type { PrometheusClient, RangeRow } from "./prometheus-client.ts"
import { labelMatchers } from "./prometheus-client.ts"
import { ProxyQuery, type ProxyQueryShape } from "./proxy-query-service.ts"
import { proxyHealth, proxyInstance, type ProxyMinutes, proxyRelation } from "./proxy-query.ts"
import { prometheusClientConfig } from "./tsdb-query.ts"

type Labels = Readonly<Record<string, string>>

/** One family read back: how its samples are summed over a minute and over replicas, and where a value goes. */
interface Read {
  readonly expr: (selector: string) => string
  readonly apply: (minute: InstanceMinute, labels: Labels, value: number) => void
}

const INSTANCE_BY = "service, instance"
const CLUSTER_BY = `${INSTANCE_BY}, cluster_name, direction, stat`
const SERVER_INDEX = new Map<string, number>(SERVER_STATS.map((s, i) => [s, i]))
const CLUSTER_INDEX = new Map<string, number>(CLUSTER_STATS.map((s, i) => [s, i]))

const clusterOf = (minute: InstanceMinute, labels: Labels): ClusterMinute => {
  const name = labels.cluster_name ?? ""
  let c = minute.clusters.get(name)
  if (c === undefined) {
    c = { outbound: labels.direction === "outbound", values: new Float64Array(CLUSTER_STATS.length).fill(Number.NaN) }
    minute.clusters.set(name, c)
  }
  return c
}

/** A cluster family: gauges (`counts` false) or increases (`counts` true), each in its own stats' slots. */
const clusterRead = (family: string, over: string, across: string, counts: boolean): Read => ({
  expr: (selector) => `${across} by (${CLUSTER_BY}) (${over}(${family}{${selector}}[1m]))`,
  apply: (minute, labels, value) => {
    const i = CLUSTER_INDEX.get(labels.stat ?? "")
    if (i !== undefined && CLUSTER_STAT_COUNTS[i] === counts) clusterOf(minute, labels).values[i] = value
  }
})

/** Which minutes the instance sent metrics in (a minute may hold no value the views read, yet be the newest). */
const MINUTES: Read = {
  expr: (selector) => `max by (${INSTANCE_BY}) (max_over_time(${PROXY_MINUTE_FAMILIES.lastSeen}{${selector}}[1m]))`,
  apply: (minute, _, value) => {
    minute.lastSeenMs = value
  }
}
const SERVER: Read = {
  expr: (selector) => `max by (${INSTANCE_BY}, stat, pick) (last_over_time(${PROXY_MINUTE_FAMILIES.server}{${selector}}[1m]))`,
  apply: (minute, labels, value) => {
    const i = SERVER_INDEX.get(labels.stat ?? "")
    const pick = labels.pick
    if (i !== undefined && (pick === "last" || pick === "max")) minute.server[serverSlot(SERVER_STATS[i], pick)] = value
  }
}
const GAUGES = clusterRead(PROXY_MINUTE_FAMILIES.cluster, "last_over_time", "max", false)
const INCREASES = clusterRead(PROXY_MINUTE_FAMILIES.clusterIncrease, "sum_over_time", "sum", true)

/** A read of only the samples that also match `extra`. */
const narrowed = (read: Read, extra: string): Read => ({ ...read, expr: (selector) => read.expr(`${selector}, ${extra}`) })

const byName = (a: InstanceState, b: InstanceState) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0)

export const makeTsdbProxyQuery = (client: PrometheusClient, retention: number): ProxyQueryShape => {
  /**
   * The instances' minutes in the range that `selector` picks, from the given reads; with `lastSeen`, also each
   * instance's last message since the earlier of the range's start and the retention window's (the memory store
   * knows an instance as long as it holds a minute of it).
   */
  const load = (range: TimeRange, selector: string, reads: ReadonlyArray<Read>, lastSeen: boolean) =>
    Effect.gen(function* () {
      // Evaluated at the current minute's end: a replica stopping writes its current minute, stamped inside it.
      const at = minuteOf(yield* Clock.currentTimeMillis) + MINUTE_MS
      const since = Math.min(range.start, at - retention * MINUTE_MS)
      const [answers, seen] = yield* Effect.all(
        [
          Effect.forEach(
            reads,
            (read) =>
              Effect.map(client.range(read.expr(selector), range.start + MINUTE_MS, range.end, MINUTE_MS), (rows) => [read, rows] as const),
            { concurrency: "unbounded" }
          ),
          lastSeen
            ? client.instant(
                `max by (${INSTANCE_BY}) (max_over_time(${PROXY_MINUTE_FAMILIES.lastSeen}{${selector}}[${(at - since) / 1000}s]))`,
                at
              )
            : Effect.succeed([])
        ],
        { concurrency: "unbounded" }
      )
      const services = new Map<string, Map<string, InstanceState>>()
      const stateOf = (labels: Labels): InstanceState => {
        const service = labels.service ?? ""
        const instance = labels.instance ?? ""
        let byInstance = services.get(service)
        if (byInstance === undefined) services.set(service, (byInstance = new Map()))
        let state = byInstance.get(instance)
        if (state === undefined) {
          state = { service, instance, minutes: new Map(), baselines: new Map(), clusters: new Set(), lastSeenMs: Number.NaN }
          byInstance.set(instance, state)
        }
        return state
      }
      for (const row of seen) stateOf(row.metric).lastSeenMs = Number(row.value[1])
      const minuteAt = (state: InstanceState, time: number): InstanceMinute => {
        let m = state.minutes.get(time)
        if (m === undefined) {
          m = { server: new Float64Array(SERVER_STATS.length * 2).fill(Number.NaN), clusters: new Map(), lastSeenMs: Number.NaN }
          state.minutes.set(time, m)
        }
        return m
      }
      const apply = (read: Read, rows: ReadonlyArray<RangeRow>) => {
        for (const row of rows) {
          const state = stateOf(row.metric)
          for (const [t, v] of row.values) read.apply(minuteAt(state, t * 1000 - MINUTE_MS), row.metric, Number(v))
        }
      }
      for (const [read, rows] of answers) apply(read, rows)
      const minutes: ProxyMinutes = {
        instance: (service, instance) => services.get(service)?.get(instance),
        instancesOf: (service) => [...(services.get(service)?.values() ?? [])].sort(byName)
      }
      return minutes
    })

  return {
    health: (service, range) =>
      Effect.map(
        load(
          range,
          labelMatchers([["service", service]]),
          [MINUTES, narrowed(SERVER, 'stat="server.memory_heap_size", pick="last"'), narrowed(GAUGES, 'stat="membership_healthy"')],
          true
        ),
        (minutes) => proxyHealth(minutes, service, range)
      ),
    instance: (service, instance, range) =>
      Effect.map(
        load(
          range,
          labelMatchers([
            ["service", service],
            ["instance", instance]
          ]),
          [SERVER, GAUGES, INCREASES],
          true
        ),
        (minutes) => {
          // Found: the instance sent metrics in the window load reads (its last message is known).
          const state = minutes.instance(service, instance)
          return state === undefined || Number.isNaN(state.lastSeenMs) ? undefined : proxyInstance(minutes, service, instance, range)
        }
      ),
    relation: (source, target, range) =>
      Effect.map(
        load(
          range,
          labelMatchers([
            ["service", source],
            ["cluster_name", target],
            ["direction", "outbound"]
          ]),
          [GAUGES, INCREASES],
          false
        ),
        (minutes) => proxyRelation(minutes, source, target, range)
      )
  }
}

export const TsdbProxyQueryLive = Layer.effect(
  ProxyQuery,
  Effect.map(prometheusClientConfig, ({ client, retentionMinutes }) => makeTsdbProxyQuery(client, retentionMinutes))
)
