// SkyWalking's Envoy metrics (the MetricsService data in ProxyMetricStore) as Prometheus gauges beside the Istio
// series: made from the store at scrape and snapshot time only, never on the ingest path. Each proxy instance
// gives its newest values: a minute's last value from its newest minute (the proxy's current state); a minute's
// max and the `_incr` increases from its newest whole minute, as a minute still running holds only part of them.
// An instance that stopped sending leaves once it has been silent for the idle setting (as idle Istio series do)
// and at the latest with the store's retention.
import { CLUSTER_METRICS, INSTANCE_METRICS, type Pick } from "../proxy-metrics/envoy-rules.ts"
import {
  CLUSTER_SLOT,
  type InstanceMinute,
  type InstanceState,
  type ProxyMetricStoreShape,
  serverSlot
} from "../proxy-metrics/proxy-metric-store.ts"
import { minuteOf } from "../domain/minute.ts"
import type { LabelPair } from "./istio-labels.ts"

export interface GaugeSample {
  /** Sorted by name. */
  readonly pairs: ReadonlyArray<LabelPair>
  readonly value: number
}

export interface GaugeFamily {
  readonly name: string
  readonly help: string
  readonly samples: ReadonlyArray<GaugeSample>
}

const byName = ([a]: LabelPair, [b]: LabelPair) => (a < b ? -1 : a > b ? 1 : 0)
const sorted = (pairs: Array<LabelPair>) => pairs.sort(byName)

/** An instance's newest minute held, and its newest whole one (before the minute now running). */
interface Newest {
  readonly current: InstanceMinute | undefined
  readonly whole: InstanceMinute | undefined
}
/** The minute a metric of this pick reads: the newest one for a last value, the newest whole one otherwise. */
const minuteFor = (n: Newest, pick: Pick) => (pick === "last" ? n.current : n.whole)

const newestOf = (state: InstanceState, oldest: number, thisMinute: number): Newest => {
  let current: [number, InstanceMinute] | undefined
  let whole: [number, InstanceMinute] | undefined
  for (const entry of state.minutes) {
    const t = entry[0]
    if (t < oldest) continue
    if (current === undefined || t > current[0]) current = entry
    if (t < thisMinute && (whole === undefined || t > whole[0])) whole = entry
  }
  return { current: current?.[1], whole: whole?.[1] }
}

/**
 * The gauge families at `nowMs` (families with no sample left out). `extraPairs` go on every sample (remote
 * write's meshsight_replica). Per instance: `service`, `instance`; per cluster also `cluster_name`; the
 * `envoy_sr_*` relation sums per `source_service` (the proxies' service) and `destination_service` (the outbound
 * cluster_name, which the default naming rule makes the upstream's service name).
 */
export const proxyGauges = (
  store: ProxyMetricStoreShape,
  nowMs: number,
  idleMs: number,
  extraPairs: ReadonlyArray<LabelPair> = []
): Array<GaugeFamily> => {
  const oldest = store.retentionStart(nowMs)
  const thisMinute = minuteOf(nowMs)
  const instance = INSTANCE_METRICS.map(() => [] as Array<GaugeSample>)
  const cluster = CLUSTER_METRICS.map(() => [] as Array<GaugeSample>)
  /** Per metric: "source\0destination" → sum. */
  const relation = CLUSTER_METRICS.map(() => new Map<string, number>())
  for (const state of store.allInstances()) {
    if (state.lastSeenMs < nowMs - idleMs) continue
    const newest = newestOf(state, oldest, thisMinute)
    if (newest.current === undefined) continue
    const own: Array<LabelPair> = [["service", state.service], ["instance", state.instance], ...extraPairs]
    INSTANCE_METRICS.forEach((m, k) => {
      const value = minuteFor(newest, m.pick)?.server[serverSlot(m.source, m.pick)] ?? Number.NaN
      if (!Number.isNaN(value)) instance[k].push({ pairs: sorted([...own]), value })
    })
    CLUSTER_METRICS.forEach((m, k) => {
      const clusters = minuteFor(newest, m.pick)?.clusters
      if (clusters === undefined) return
      for (const [name, c] of clusters) {
        const value = c.values[CLUSTER_SLOT[k]]
        if (Number.isNaN(value)) continue
        cluster[k].push({ pairs: sorted([...own, ["cluster_name", name]]), value })
        if (m.relation && c.outbound) {
          const key = `${state.service}\0${name}`
          relation[k].set(key, (relation[k].get(key) ?? 0) + value)
        }
      }
    })
  }
  const families: Array<GaugeFamily> = [
    ...INSTANCE_METRICS.map((m, k) => ({ name: `envoy_${m.name}`, help: m.help, samples: instance[k] })),
    ...CLUSTER_METRICS.map((m, k) => ({ name: `envoy_${m.name}`, help: `${m.help}, per cluster_name`, samples: cluster[k] })),
    ...CLUSTER_METRICS.flatMap((m, k) =>
      m.relation
        ? [
            {
              name: `envoy_sr_${m.name}`,
              help: `${m.help}, summed over the source service's proxies per outbound cluster`,
              samples: [...relation[k]].map(([key, value]) => {
                const [source, destination] = key.split("\0")
                return { pairs: sorted([["source_service", source], ["destination_service", destination], ...extraPairs]), value }
              })
            }
          ]
        : []
    )
  ]
  return families.filter((f) => f.samples.length > 0)
}
