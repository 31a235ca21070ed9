// The query step for Envoy MetricsService data: ProxyMetricStore's minutes → the API shapes in proxy-model.ts,
// with SkyWalking's metric names (the tables in src/proxy-metrics/envoy-rules.ts).
import { CLUSTER_METRICS, INSTANCE_METRICS } from "../proxy-metrics/envoy-rules.ts"
import {
  CLUSTER_SLOT,
  CLUSTER_STATS,
  type InstanceMinute,
  type InstanceState,
  type ProxyMetricStoreShape,
  serverSlot
} from "../proxy-metrics/proxy-metric-store.ts"
import type { TimeRange } from "./api-model.ts"
import type { ProxyCluster, ProxyHealthList, ProxyInstance, ProxyMetric, ProxyRelation } from "./proxy-model.ts"

type Minutes = ReadonlyArray<readonly [number, InstanceMinute]>

/** What the views read: the memory store, or the minutes a TSDB gave back (./tsdb-proxy-query.ts). */
export type ProxyMinutes = Pick<ProxyMetricStoreShape, "instance" | "instancesOf">

const minutesIn = (state: InstanceState, range: TimeRange): Minutes =>
  [...state.minutes].filter(([t]) => t >= range.start && t < range.end).sort((a, b) => a[0] - b[0])

/** A metric from its per-minute values (NaN: none that minute). */
const metric = (name: string, minutes: ReadonlyArray<number>, value: (i: number) => number): ProxyMetric => {
  const series: Array<{ time: number; value: number }> = []
  minutes.forEach((time, i) => {
    const v = value(i)
    if (!Number.isNaN(v)) series.push({ time, value: v })
  })
  return { name, latest: series.at(-1)?.value ?? null, series }
}

const MEMBERSHIP_SLOT = CLUSTER_STATS.indexOf("membership_healthy")
const HEAP_SLOT = serverSlot("server.memory_heap_size", "last")

export const proxyInstance = (store: ProxyMinutes, service: string, instance: string, range: TimeRange): ProxyInstance | undefined => {
  const state = store.instance(service, instance)
  if (state === undefined) return undefined
  const minutes = minutesIn(state, range)
  const times = minutes.map(([t]) => t)
  const metrics = INSTANCE_METRICS.map((m) => {
    const slot = serverSlot(m.source, m.pick)
    return metric(`envoy_${m.name}`, times, (i) => minutes[i][1].server[slot])
  })
  const names = new Map<string, boolean>()
  for (const [, b] of minutes) for (const [name, c] of b.clusters) names.set(name, c.outbound)
  const clusters: Array<ProxyCluster> = [...names]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([clusterName, outbound]) => ({
      clusterName,
      direction: outbound ? "outbound" : "inbound",
      metrics: CLUSTER_METRICS.map((m, k) =>
        metric(`envoy_${m.name}`, times, (i) => minutes[i][1].clusters.get(clusterName)?.values[CLUSTER_SLOT[k]] ?? Number.NaN)
      )
    }))
  return { range, service, instance, lastSeen: state.lastSeenMs, metrics, clusters }
}

/** `envoy_sr_*`: the outbound cluster `target` of every proxy of `source`, summed per minute. */
export const proxyRelation = (store: ProxyMinutes, source: string, target: string, range: TimeRange): ProxyRelation | undefined => {
  const sums = new Map<number, Float64Array>()
  for (const state of store.instancesOf(source)) {
    for (const [time, b] of minutesIn(state, range)) {
      const cluster = b.clusters.get(target)
      if (cluster === undefined || !cluster.outbound) continue
      let sum = sums.get(time)
      if (sum === undefined) {
        sum = new Float64Array(CLUSTER_STATS.length).fill(Number.NaN)
        sums.set(time, sum)
      }
      cluster.values.forEach((v, k) => {
        if (!Number.isNaN(v)) sum[k] = (Number.isNaN(sum[k]) ? 0 : sum[k]) + v
      })
    }
  }
  if (sums.size === 0) return undefined
  const times = [...sums.keys()].sort((a, b) => a - b)
  const metrics = CLUSTER_METRICS.flatMap((m, k) =>
    m.relation ? [metric(`envoy_sr_${m.name}`, times, (i) => sums.get(times[i])![CLUSTER_SLOT[k]])] : []
  )
  return { range, source, target, metrics }
}

export const proxyHealth = (store: ProxyMinutes, service: string, range: TimeRange): ProxyHealthList => ({
  range,
  service,
  instances: store.instancesOf(service).flatMap((state) => {
    const newest = minutesIn(state, range).at(-1)
    if (newest === undefined) return []
    const [, b] = newest
    const reported = [...b.clusters].filter(([, c]) => !Number.isNaN(c.values[MEMBERSHIP_SLOT]))
    const heap = b.server[HEAP_SLOT]
    return [
      {
        instance: state.instance,
        lastSeen: state.lastSeenMs,
        heapMemoryUsed: Number.isNaN(heap) ? null : heap,
        clusters: reported.length,
        unhealthyClusters: reported
          .filter(([, c]) => c.values[MEMBERSHIP_SLOT] === 0)
          .map(([name]) => name)
          .sort()
      }
    ]
  })
})
