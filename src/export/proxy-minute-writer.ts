// Storage mode `prometheus` (docs/scale-out.md): the proxies' MetricsService minutes (ProxyMetricStore) are
// remote-written once each is over, as meshsight_proxy_minute_* samples stamped inside their minute like the ALS
// minutes (./minute-writer.ts), so that any replica answers the proxy views from PromQL
// (src/query/tsdb-proxy-query.ts) exactly as the replica that holds the proxy's stream does from memory. The store
// stays as it is (the MeshExport's envoy_* gauges and the counters' baselines need it); the writer only reads it.
//
// A minute is recorded at the time its messages arrive (ProxyMetricStore), so no record reaches a minute after it
// is over: each minute is written once.
import { Clock, Effect, Layer } from "effect"
import { MINUTE_MS, minuteOf } from "../domain/minute.ts"
import { CLUSTER_METRICS } from "../proxy-metrics/envoy-rules.ts"
import {
  CLUSTER_STATS,
  type InstanceState,
  ProxyMetricStore,
  ProxyMetricStoreLive,
  SERVER_STATS
} from "../proxy-metrics/proxy-metric-store.ts"
import { settingsConfig } from "../util/setting.ts"
import { type Enqueue, minuteWriterSettings, PROCESS_SLOTS_MS, runMinuteWriter, sampleTime } from "./minute-writer.ts"
import { TIMESERIES_PER_REQUEST, type WriteBatch } from "./remote-write.ts"
import { labelPiece, makeRequestBatcher } from "./write-request.ts"

/**
 * The families, each labelled `service`, `instance` and `meshsight_replica`:
 * - `last_seen_ms`: when the proxy last sent metrics in the minute (epoch ms); one per instance and minute held.
 * - `server`: a `server.*` stat's last value or max in the minute (`stat`, `pick`: last | max).
 * - `cluster`: a cluster gauge's last value in the minute (`cluster_name`, `direction`: inbound | outbound, `stat`).
 * - `cluster_increase`: a cluster counter's increase in the minute (same labels).
 * A stat not reported in the minute is not written.
 */
export const PROXY_MINUTE_FAMILIES = {
  lastSeen: "meshsight_proxy_minute_last_seen_ms",
  server: "meshsight_proxy_minute_server",
  cluster: "meshsight_proxy_minute_cluster",
  clusterIncrease: "meshsight_proxy_minute_cluster_increase"
} as const

/** By CLUSTER_STATS index: whether the stat is a counter (its minute value an increase). */
export const CLUSTER_STAT_COUNTS: ReadonlyArray<boolean> = CLUSTER_STATS.map(
  (stat) => CLUSTER_METRICS.find((m) => m.stat === stat)!.pick === "increase"
)

// Through labelPiece, one object per label: a request writes a label object it has written before as a copy
// (SnappyBlockWriter.piece), so two objects with the same label would each go in as literals.
const NAMES = {
  lastSeen: labelPiece("__name__", PROXY_MINUTE_FAMILIES.lastSeen),
  server: labelPiece("__name__", PROXY_MINUTE_FAMILIES.server),
  cluster: labelPiece("__name__", PROXY_MINUTE_FAMILIES.cluster),
  clusterIncrease: labelPiece("__name__", PROXY_MINUTE_FAMILIES.clusterIncrease)
}
/** By `InstanceMinute.server` slot: the `pick` and `stat` labels (pick sorts before service, stat after). */
const SERVER_PICK = SERVER_STATS.flatMap(() => [labelPiece("pick", "last"), labelPiece("pick", "max")])
const SERVER_STAT = SERVER_STATS.flatMap((s) => [labelPiece("stat", s), labelPiece("stat", s)])
const CLUSTER_STAT = CLUSTER_STATS.map((s) => labelPiece("stat", s))
const DIRECTION = { inbound: labelPiece("direction", "inbound"), outbound: labelPiece("direction", "outbound") }

/**
 * The WriteRequests for the minutes in [from, before) of every instance. Labels are written in name order
 * (`__name__`, `cluster_name`, `direction`, `instance`, `meshsight_replica`, `pick`, `service`, `stat`), as remote
 * write expects.
 */
export const proxyMinuteBatches = (
  instances: Iterable<InstanceState>,
  from: number,
  before: number,
  replicaName: string,
  timeOf: (minute: number) => number
): Array<WriteBatch> => {
  const { put, finish } = makeRequestBatcher(TIMESERIES_PER_REQUEST)

  const replicaLabel = labelPiece("meshsight_replica", replicaName)
  for (const state of instances) {
    let own: { instance: Uint8Array; service: Uint8Array } | undefined
    for (const [minute, m] of state.minutes) {
      if (minute < from || minute >= before) continue
      own ??= { instance: labelPiece("instance", state.instance), service: labelPiece("service", state.service) }
      const { instance, service } = own
      const at = timeOf(minute)
      put([NAMES.lastSeen, instance, replicaLabel, service], m.lastSeenMs, at)
      m.server.forEach((v, slot) => {
        if (!Number.isNaN(v)) put([NAMES.server, instance, replicaLabel, SERVER_PICK[slot], service, SERVER_STAT[slot]], v, at)
      })
      for (const [name, c] of m.clusters) {
        const cluster = labelPiece("cluster_name", name)
        const direction = c.outbound ? DIRECTION.outbound : DIRECTION.inbound
        c.values.forEach((v, i) => {
          if (Number.isNaN(v)) return
          const family = CLUSTER_STAT_COUNTS[i] ? NAMES.clusterIncrease : NAMES.cluster
          put([family, cluster, direction, instance, replicaLabel, service, CLUSTER_STAT[i]], v, at)
        })
      }
    }
  }
  return finish()
}

/**
 * Writes every minute of the proxy store that ended more than MESHSIGHT_MINUTE_WRITE_GRACE_MS ago to each
 * remote-write URL; at shutdown (after the MetricsService streams have ended) also the current minute.
 */
const ProxyMinuteWriterLive = Layer.effectDiscard(
  Effect.gen(function* () {
    const c = yield* settingsConfig(minuteWriterSettings)
    const store = yield* ProxyMetricStore
    const slot = (yield* Clock.currentTimeMillis) % PROCESS_SLOTS_MS
    /** Minutes before this one are written. */
    let writtenBefore = Number.NEGATIVE_INFINITY
    const write = (enqueue: Enqueue, before: number) =>
      Effect.suspend(() => {
        if (before <= writtenBefore) return Effect.void
        const batches = proxyMinuteBatches(store.allInstances(), writtenBefore, before, c.replica, (minute) => sampleTime(minute, slot, 0))
        writtenBefore = before
        return enqueue(batches)
      })
    yield* runMinuteWriter(
      c,
      "meshsight_proxy_minute",
      (enqueue, now) => write(enqueue, minuteOf(now - c.minuteGraceMs)),
      (enqueue, now) => write(enqueue, minuteOf(now) + MINUTE_MS)
    )
  })
)

/** ProxyMetricStore in storage mode `prometheus`: the memory store, whose minutes are also written to the TSDB. */
export const ProxyMinuteWriterStoreLive = ProxyMinuteWriterLive.pipe(Layer.provideMerge(ProxyMetricStoreLive))
