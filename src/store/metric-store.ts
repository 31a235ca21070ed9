// The store stage: minute buckets of aggregated series. The in-memory implementation below is the default; other
// stores implement the same service.
import { Context, Effect, Layer } from "effect"
import { AppConfig } from "../config.ts"
import { MINUTE_MS, minuteOf } from "../domain/minute.ts"
import type { MinuteBucket, Series } from "../domain/series.ts"

export interface MetricStoreShape {
  /**
   * Adds a minute's new series and merges into the existing ones; the store takes ownership of `bucket`'s stats.
   * Returns how many series were refused because the minute already holds its limit.
   */
  readonly merge: (minute: number, bucket: MinuteBucket) => number
  /** Drops minutes older than the retention window ending at `nowMs`. */
  readonly prune: (nowMs: number) => void
  /** The buckets whose minute is in [start, end), oldest first. */
  readonly read: (start: number, end: number) => ReadonlyArray<readonly [number, ReadonlyMap<string, Series>]>
  readonly seriesCount: () => number
  /** Oldest minute still held, for telling "too old" apart from "no data". */
  readonly retentionStart: (nowMs: number) => number
}

export class MetricStore extends Context.Service<MetricStore, MetricStoreShape>()("meshsight/MetricStore") {}

export const makeMemoryStore = (retentionMinutes: number, maxSeriesPerMinute: number): MetricStoreShape => {
  const minutes = new Map<number, MinuteBucket>()
  let series = 0
  const retentionStart = (nowMs: number) => minuteOf(nowMs) - (retentionMinutes - 1) * MINUTE_MS
  return {
    merge: (minute, bucket) => {
      let target = minutes.get(minute)
      if (target === undefined) {
        target = new Map()
        minutes.set(minute, target)
      }
      let refused = 0
      for (const [key, s] of bucket) {
        const existing = target.get(key)
        if (existing !== undefined) existing.stats.merge(s.stats)
        else if (target.size < maxSeriesPerMinute) {
          target.set(key, s)
          series++
        } else refused++
      }
      return refused
    },
    prune: (nowMs) => {
      const oldest = retentionStart(nowMs)
      for (const [minute, bucket] of minutes) {
        if (minute < oldest) {
          series -= bucket.size
          minutes.delete(minute)
        }
      }
    },
    read: (start, end) =>
      [...minutes].filter(([minute]) => minute >= start && minute < end).sort((a, b) => a[0] - b[0]),
    seriesCount: () => series,
    retentionStart
  }
}

export const MemoryStoreLive = Layer.effect(
  MetricStore,
  Effect.gen(function*() {
    const config = yield* AppConfig
    return makeMemoryStore(config.retentionMinutes, config.maxSeriesPerMinute)
  })
)
