// Storage mode `prometheus` (docs/scale-out.md): the store stage becomes a buffer of the minutes not yet written,
// and a writer remote-writes each minute's series to the TSDB once the minute is over, as meshsight_minute_*
// samples (src/domain/minute-families.ts) labelled with this replica. Any replica's query API then sums every
// replica's minutes with PromQL (src/query/tsdb-query.ts). What a replica holds is only its unwritten minutes.
import { Clock, Effect, Layer, Metric } from "effect"
import { entityLabels, MINUTE_FAMILIES } from "../domain/minute-families.ts"
import { MINUTE_MS, minuteOf } from "../domain/minute.ts"
import type { MinuteBucket } from "../domain/series.ts"
import { MemoryBudget, type MemoryMeter } from "../memory/budget.ts"
import { type MetricStoreShape, MetricStore, retentionMinutes, seriesWeight } from "../store/metric-store.ts"
import { minuteSamplesLate, minuteSeriesWritten } from "../telemetry.ts"
import { Int, type SettingValues, setting, settingsConfig } from "../util/setting.ts"
import { type EndpointOptions, makeEndpoint, TIMESERIES_PER_REQUEST, type WriteBatch } from "./remote-write.ts"
import {
  remoteWriteBearerToken,
  remoteWriteHeaders,
  remoteWritePassword,
  remoteWriteQueueSamples,
  remoteWriteTimeoutMs,
  remoteWriteUrls,
  remoteWriteUsername,
  replica
} from "./settings.ts"
import { labelPiece, makeRequestBatcher } from "./write-request.ts"
import { remoteWriteHeaders as headersOf } from "./mesh-export.ts"

export const minuteGraceMs = setting({
  names: ["MESHSIGHT_MINUTE_WRITE_GRACE_MS"],
  schema: Int(0, 600_000),
  expected: "milliseconds from 0 to 600000",
  default: 5_000
})
export const minuteWriteCheckMs = setting({
  names: ["MESHSIGHT_MINUTE_WRITE_CHECK_MS"],
  schema: Int(100, 60_000),
  expected: "milliseconds from 100 to 60000",
  default: 1_000
})

/**
 * A minute's samples are stamped inside it, 30 s after its start plus a per-process offset and the number of
 * earlier writes of that minute: a query window aligned to whole minutes then holds exactly the samples of its
 * minutes whichever way a TSDB bounds its windows, and every write of a series gets a timestamp of its own (a TSDB
 * refuses a second, different value at a timestamp it already holds). Late records of a minute already written
 * are written as another sample of that minute: a TSDB takes it when it accepts out-of-order samples
 * (Prometheus' `out_of_order_time_window`, VictoriaMetrics always), else refuses it and the writer counts it.
 */
export const sampleTime = (minute: number, processSlotMs: number, write: number) => minute + 30_000 + processSlotMs + write
/** Process offsets take the first 20 s after the middle of the minute; writes of a minute the last 10 s. */
export const PROCESS_SLOTS_MS = 20_000
export const MAX_WRITES_PER_MINUTE = 9_999

/**
 * The buffer of unwritten minutes: merged like the memory store, taken out whole when written. Records older than
 * the retention window are refused as in memory mode (the aggregator counts them too old): the TSDB would refuse
 * samples that old anyway.
 */
export const makeMinuteBuffer = (retentionMinutes: number, meter: MemoryMeter = { bytes: 0 }) => {
  const minutes = new Map<number, MinuteBucket>()
  let count = 0
  const store: MetricStoreShape = {
    merge: (minute, bucket) => {
      let target = minutes.get(minute)
      if (target === undefined) minutes.set(minute, (target = new Map()))
      for (const [key, s] of bucket) {
        const existing = target.get(key)
        if (existing === undefined) {
          target.set(key, s)
          count++
        } else {
          existing.stats.merge(s.stats)
          meter.bytes -= seriesWeight(key)
        }
      }
      return 0
    },
    // Written minutes leave at once (take); what the API can reach back to is the TSDB's retention.
    prune: () => {},
    read: (start, end) => [...minutes].filter(([m]) => m >= start && m < end).sort((a, b) => a[0] - b[0]),
    seriesCount: () => count,
    has: (minute, key) => minutes.get(minute)?.has(key) ?? false,
    retentionStart: (nowMs) => minuteOf(nowMs) - (retentionMinutes - 1) * MINUTE_MS
  }
  /** Removes and returns the minutes before `before` (all when undefined), oldest first. */
  const take = (before = Number.POSITIVE_INFINITY): Array<readonly [number, MinuteBucket]> => {
    const out = [...minutes].filter(([m]) => m < before).sort((a, b) => a[0] - b[0])
    for (const [m, bucket] of out) {
      minutes.delete(m)
      count -= bucket.size
      for (const key of bucket.keys()) meter.bytes -= seriesWeight(key)
    }
    return out
  }
  return { store, take }
}

const byName = (a: readonly [string, string], b: readonly [string, string]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)

/**
 * The WriteRequests for the given minutes. Each TimeSeries carries the family's name, the entity's labels, the
 * family's own label (code, bucket, …) and `meshsight_replica`, sorted by name as remote write expects.
 */
export const minuteBatches = (
  minutes: ReadonlyArray<readonly [number, MinuteBucket]>,
  replicaName: string,
  timeOf: (minute: number) => number
): Array<WriteBatch> => {
  const requests = makeRequestBatcher(TIMESERIES_PER_REQUEST)
  for (const [minute, bucket] of minutes) {
    const at = timeOf(minute)
    for (const s of bucket.values()) {
      const pairs: Array<readonly [string, string]> = [...entityLabels(s.entity), ["meshsight_replica", replicaName]]
      pairs.sort(byName)
      const names = pairs.map(([k]) => k)
      const encoded = pairs.map(([k, v]) => labelPiece(k, v))
      for (const f of MINUTE_FAMILIES) {
        const values = f.read(s.stats)
        if (values.length === 0) continue
        const name = labelPiece("__name__", f.name)
        // Where the family's own label sorts in among the entity's.
        const split = f.label === undefined ? encoded.length : names.findIndex((n) => n > f.label!)
        const before = split === -1 ? encoded : encoded.slice(0, split)
        const after = split === -1 ? [] : encoded.slice(split)
        for (const [labelValue, value] of values) {
          const labelled = f.label === undefined ? encoded : [...before, labelPiece(f.label, labelValue), ...after]
          requests.put([name, ...labelled], value, at)
        }
      }
    }
  }
  return requests.finish()
}

/** The settings every minute writer reads: where and how to remote-write, this replica's name, when a minute is over. */
export const minuteWriterSettings = {
  remoteWriteUrls,
  remoteWriteTimeoutMs,
  remoteWriteQueueSamples,
  remoteWriteUsername,
  remoteWritePassword,
  remoteWriteBearerToken,
  remoteWriteHeaders,
  replica,
  minuteGraceMs,
  minuteWriteCheckMs,
  retentionMinutes
}

/** Queues requests for every remote-write URL. */
export type Enqueue = (batches: ReadonlyArray<WriteBatch>) => Effect.Effect<void>

/**
 * A minute writer's queues, one per remote-write URL, and the fibers around them: every check interval
 * `writeEnded` queues the minutes that are over, each queue's sender posts them, and at shutdown `writeAll` queues
 * what is left (the current minute too) and each queue is sent once, within the request timeout.
 */
export const runMinuteWriter = (
  c: SettingValues<typeof minuteWriterSettings>,
  series: EndpointOptions["series"],
  writeEnded: (enqueue: Enqueue, nowMs: number) => Effect.Effect<void>,
  writeAll: (enqueue: Enqueue, nowMs: number) => Effect.Effect<void>
) =>
  Effect.gen(function* () {
    const headers = headersOf(c)
    const endpoints = c.remoteWriteUrls.map((url) =>
      makeEndpoint({ url, series, headers, timeoutMs: c.remoteWriteTimeoutMs, maxBackoffMs: 30_000 }, c.remoteWriteQueueSamples)
    )
    const enqueue: Enqueue = (batches) => Effect.forEach(endpoints, (e) => e.enqueue(batches), { discard: true })
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => writeAll(enqueue, now)).pipe(
        Effect.andThen(Effect.forEach(endpoints, (e) => e.sendQueuedOnce, { concurrency: "unbounded", discard: true })),
        Effect.timeout(c.remoteWriteTimeoutMs),
        Effect.catch(() =>
          Effect.logWarning(`writing the last ${series} minutes at shutdown did not finish within MESHSIGHT_REMOTE_WRITE_TIMEOUT_MS`)
        )
      )
    )
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.andThen(
          Effect.sleep(c.minuteWriteCheckMs),
          Effect.flatMap(Clock.currentTimeMillis, (now) => writeEnded(enqueue, now))
        )
      )
    )
    for (const e of endpoints) yield* Effect.forkScoped(e.sendLoop(Math.min(250, c.minuteWriteCheckMs)))
    return endpoints.map((e) => e.name)
  })

/**
 * The store stage of storage mode `prometheus`: MetricStore is the buffer of unwritten minutes, and a fiber
 * writes every minute that ended more than the grace ago to each remote-write URL (the Istio export's URLs, auth
 * and queue bound). At shutdown, after the aggregator's last flush, every buffered minute is written, the current
 * one included.
 */
export const MinuteWriterStoreLive = Layer.effect(
  MetricStore,
  Effect.gen(function* () {
    const c = yield* settingsConfig(minuteWriterSettings)
    const budget = yield* MemoryBudget
    const buffer = makeMinuteBuffer(c.retentionMinutes, budget.meter("series"))
    const slot = (yield* Clock.currentTimeMillis) % PROCESS_SLOTS_MS
    /** How often each recent minute was written, for the next write's timestamp. */
    const writes = new Map<number, number>()
    const write = (enqueue: Enqueue, minutes: ReadonlyArray<readonly [number, MinuteBucket]>) =>
      Effect.gen(function* () {
        if (minutes.length === 0) return
        let late = 0
        const batches = minuteBatches(minutes, c.replica, (minute) => {
          const n = writes.get(minute) ?? 0
          if (n > 0) late++
          writes.set(minute, Math.min(n + 1, MAX_WRITES_PER_MINUTE))
          return sampleTime(minute, slot, n)
        })
        // A minute older than the retention window takes no more records (the buffer refuses them as too old).
        const oldest = buffer.store.retentionStart(yield* Clock.currentTimeMillis)
        for (const m of writes.keys()) if (m < oldest) writes.delete(m)
        const samples = batches.reduce((n, b) => n + b.samples, 0)
        yield* Metric.update(minuteSeriesWritten, samples)
        if (late > 0) yield* Metric.update(minuteSamplesLate, late)
        yield* enqueue(batches)
      })
    const urls = yield* runMinuteWriter(
      c,
      "meshsight_minute",
      (enqueue, now) => write(enqueue, buffer.take(minuteOf(now - c.minuteGraceMs))),
      (enqueue) => write(enqueue, buffer.take())
    )
    yield* Effect.logInfo(
      `storage: prometheus; each minute's series are written ${c.minuteGraceMs} ms after it ends to ${urls.join(", ")} (meshsight_replica="${c.replica}")`
    )
    return buffer.store
  })
)
