// The aggregate and store steps for Envoy MetricsService data: per proxy instance and minute, the values
// SkyWalking's Envoy rules define (envoy-rules.ts). Gauges keep the minute's last value and its max; counters
// become per-minute increases, counted family by family so that a proxy restart (its counters start again from 0)
// never yields a negative increase. Memory is bounded by the retention window, a number of instances and a
// number of (instance, cluster_name) pairs; what does not fit is refused and counted.
import { Context, Effect, Layer } from "effect"
import type { MetricFamily } from "../domain/metric-family.ts"
import { namingConfig } from "../identity/mx-mesh/mx-mesh-analyzer.ts"
import { MINUTE_MS, minuteOf } from "../domain/minute.ts"
import { retentionMinutes } from "../store/metric-store.ts"
import { Int, setting, settingsConfig } from "../util/setting.ts"
import { makeClusterNamer } from "./cluster-name.ts"
import { CLUSTER_METRICS, type ClusterStat, extractRuleSamples, INSTANCE_METRICS, type Pick, type ServerStat } from "./envoy-rules.ts"

export interface ProxyIdentity {
  readonly service: string
  readonly instance: string
}

/** Index of each source stat in a minute's value arrays. */
export const SERVER_STATS: ReadonlyArray<ServerStat> = [...new Set(INSTANCE_METRICS.map((m) => m.source))]
export const CLUSTER_STATS: ReadonlyArray<ClusterStat> = CLUSTER_METRICS.map((m) => m.stat)
const SERVER_INDEX = new Map(SERVER_STATS.map((s, i) => [s, i]))
const CLUSTER_INDEX = new Map(CLUSTER_STATS.map((s, i) => [s, i]))
/** Where an INSTANCE_METRICS entry's value is in `InstanceMinute.server`. */
export const serverSlot = (source: ServerStat, pick: Pick) => SERVER_INDEX.get(source)! * 2 + (pick === "max" ? 1 : 0)
/** By CLUSTER_METRICS index: where the metric's value is in `ClusterMinute.values`. */
export const CLUSTER_SLOT: ReadonlyArray<number> = CLUSTER_METRICS.map((m) => CLUSTER_INDEX.get(m.stat)!)

export interface ClusterMinute {
  readonly outbound: boolean
  /** By CLUSTER_STATS index: a gauge's last value or a counter's increase in the minute; NaN when not reported. */
  readonly values: Float64Array
}

export interface InstanceMinute {
  /** By SERVER_STATS index: [2i] the minute's last value, [2i + 1] its max; NaN when not reported. */
  readonly server: Float64Array
  readonly clusters: Map<string, ClusterMinute>
  /** When the proxy last sent metrics in this minute (storage mode `prometheus` writes it with the minute). */
  lastSeenMs: number
}

export interface InstanceState extends ProxyIdentity {
  readonly minutes: Map<number, InstanceMinute>
  /** Each counter family's last value, for its next increase. */
  readonly baselines: Map<string, number>
  readonly clusters: Set<string>
  lastSeenMs: number
}

export interface RecordOutcome {
  /** Values NaN, ±Inf or missing in families the rules read: left out. */
  readonly nonFinite: number
  /** The instance was new and the instance limit was reached: nothing recorded. */
  readonly instanceRefused: boolean
  /** Clusters new to the instance past the (instance, cluster) pair limit: their samples left out. */
  readonly clustersRefused: number
  /** Clusters the naming rule could not name: their samples left out. */
  readonly clustersUnnamed: number
}

export interface ProxyMetricStoreShape {
  /** Applies one message's families from an identified proxy at `nowMs`. Synchronous: called from the batch loop. */
  readonly record: (identity: ProxyIdentity, families: ReadonlyArray<MetricFamily>, nowMs: number) => RecordOutcome
  readonly instance: (service: string, instance: string) => InstanceState | undefined
  /** The instances of a service that reported proxy metrics, in name order. */
  readonly instancesOf: (service: string) => ReadonlyArray<InstanceState>
  /** Every instance held, in no particular order. */
  readonly allInstances: () => Iterable<InstanceState>
  /** Oldest minute still held. */
  readonly retentionStart: (nowMs: number) => number
  readonly instanceCount: () => number
}

export class ProxyMetricStore extends Context.Service<ProxyMetricStore, ProxyMetricStoreShape>()("meshsight/ProxyMetricStore") {}

export interface ProxyMetricLimits {
  readonly retentionMinutes: number
  readonly maxInstances: number
  readonly maxClusterPairs: number
}

const newInstanceMinute = (): InstanceMinute => ({
  server: new Float64Array(SERVER_STATS.length * 2).fill(Number.NaN),
  clusters: new Map(),
  lastSeenMs: Number.NaN
})

export const makeProxyMetricStore = (
  limits: ProxyMetricLimits,
  clusterName: ReturnType<typeof makeClusterNamer>
): ProxyMetricStoreShape => {
  const services = new Map<string, Map<string, InstanceState>>()
  let instances = 0
  let clusterPairs = 0
  let prunedAt = Number.NEGATIVE_INFINITY
  const retentionStart = (nowMs: number) => minuteOf(nowMs) - (limits.retentionMinutes - 1) * MINUTE_MS

  /** Once per minute: minutes past retention go, and with them instances that have none left. */
  const prune = (nowMs: number) => {
    const oldest = retentionStart(nowMs)
    for (const [service, byInstance] of services) {
      for (const [name, state] of byInstance) {
        for (const minute of state.minutes.keys()) if (minute < oldest) state.minutes.delete(minute)
        if (state.minutes.size === 0) {
          byInstance.delete(name)
          instances--
          clusterPairs -= state.clusters.size
        }
      }
      if (byInstance.size === 0) services.delete(service)
    }
  }

  const stateFor = (identity: ProxyIdentity, nowMs: number): InstanceState | undefined => {
    let byInstance = services.get(identity.service)
    const known = byInstance?.get(identity.instance)
    if (known !== undefined) return known
    if (instances >= limits.maxInstances) return undefined
    if (byInstance === undefined) {
      byInstance = new Map()
      services.set(identity.service, byInstance)
    }
    const state: InstanceState = {
      service: identity.service,
      instance: identity.instance,
      minutes: new Map(),
      baselines: new Map(),
      clusters: new Set(),
      lastSeenMs: nowMs
    }
    byInstance.set(identity.instance, state)
    instances++
    return state
  }

  const record = (identity: ProxyIdentity, families: ReadonlyArray<MetricFamily>, nowMs: number): RecordOutcome => {
    const minute = minuteOf(nowMs)
    if (minute > prunedAt) {
      prune(nowMs)
      prunedAt = minute
    }
    const samples = extractRuleSamples(families, clusterName)
    const state = stateFor(identity, nowMs)
    if (state === undefined) {
      return { nonFinite: samples.nonFinite, instanceRefused: true, clustersRefused: 0, clustersUnnamed: 0 }
    }
    state.lastSeenMs = nowMs
    let bucket = state.minutes.get(minute)
    if (bucket === undefined) {
      bucket = newInstanceMinute()
      state.minutes.set(minute, bucket)
    }
    bucket.lastSeenMs = nowMs
    const server = bucket.server
    for (const s of samples.server) {
      const i = SERVER_INDEX.get(s.stat)! * 2
      server[i] = s.value
      if (!(server[i + 1] >= s.value)) server[i + 1] = s.value // NaN (unset) compares false
    }
    // Gauges: the families of one cluster_name are summed for this message, then become the minute's last value.
    const gauges = new Map<ClusterMinute, Float64Array>()
    let clustersRefused = 0
    let clustersUnnamed = 0
    for (const s of samples.clusters) {
      const name = s.cluster.name
      if (name === undefined) {
        clustersUnnamed++
        continue
      }
      if (!state.clusters.has(name)) {
        if (clusterPairs >= limits.maxClusterPairs) {
          clustersRefused++
          continue
        }
        state.clusters.add(name)
        clusterPairs++
      }
      // SkyWalking's cluster_membership_healthy leaves out clusters whose name ends in kube-system.
      if (s.stat === "membership_healthy" && name.endsWith("kube-system") && name.length > 11) continue
      let cluster = bucket.clusters.get(name)
      if (cluster === undefined) {
        cluster = { outbound: s.cluster.outbound, values: new Float64Array(CLUSTER_STATS.length).fill(Number.NaN) }
        bucket.clusters.set(name, cluster)
      }
      const i = CLUSTER_INDEX.get(s.stat)!
      if (s.counter) {
        const previous = state.baselines.get(s.family)
        state.baselines.set(s.family, s.value)
        // No baseline yet: nothing to compare with. Lower than before: the proxy restarted and counts from 0.
        const increase = previous === undefined ? 0 : s.value >= previous ? s.value - previous : s.value
        cluster.values[i] = (Number.isNaN(cluster.values[i]) ? 0 : cluster.values[i]) + increase
      } else {
        let sums = gauges.get(cluster)
        if (sums === undefined) {
          sums = new Float64Array(CLUSTER_STATS.length)
          gauges.set(cluster, sums)
        }
        sums[i] += s.value
        cluster.values[i] = sums[i]
      }
    }
    return { nonFinite: samples.nonFinite, instanceRefused: false, clustersRefused, clustersUnnamed }
  }

  return {
    record,
    instance: (service, instance) => services.get(service)?.get(instance),
    instancesOf: (service) =>
      [...(services.get(service)?.values() ?? [])].sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0)),
    allInstances: function* () {
      for (const byInstance of services.values()) yield* byInstance.values()
    },
    retentionStart,
    instanceCount: () => instances
  }
}

export const proxyMaxInstances = setting({
  names: ["MESHSIGHT_PROXY_MAX_INSTANCES"],
  schema: Int(1, 10_000_000),
  expected: "a positive whole number",
  default: 10_000
})
export const proxyMaxClusterPairs = setting({
  names: ["MESHSIGHT_PROXY_MAX_CLUSTER_PAIRS"],
  schema: Int(1, 100_000_000),
  expected: "a positive whole number",
  default: 50_000
})

export const ProxyMetricStoreLive = Layer.effect(
  ProxyMetricStore,
  Effect.gen(function* () {
    const config = yield* settingsConfig({ retentionMinutes, proxyMaxInstances, proxyMaxClusterPairs })
    // The proxy's node is named as mx-mesh names it (keys in any case, `-` for a missing field).
    const naming = yield* namingConfig
    return makeProxyMetricStore(
      { retentionMinutes: config.retentionMinutes, maxInstances: config.proxyMaxInstances, maxClusterPairs: config.proxyMaxClusterPairs },
      makeClusterNamer(naming)
    )
  })
)
