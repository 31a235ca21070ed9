// The store stage: minute buckets of aggregated series. The in-memory implementation below is the default; other
// stores implement the same service.
import { Context, Effect, Layer } from "effect"
import { MINUTE_MS, minuteOf } from "../domain/minute.ts"
import type { MinuteBucket, Series } from "../domain/series.ts"
import { Int, setting, settingsConfig } from "../util/setting.ts"
import { MemoryBudget, type MemoryMeter } from "../memory/budget.ts"
import { EntityRegistry } from "./entity-registry.ts"
import { MinuteTable } from "./minute-table.ts"

/**
 * What a series retains, estimated for the memory budget: ~645 bytes were measured per endpoint series when each was
 * an object graph (SeriesStats, entity, Map slot, key). Rows of typed arrays (./minute-table.ts) measure ~265 bytes
 * with the registry's share, ~400 with the aggregator's key memos (bench/series-memory.ts): the estimate is kept,
 * on the safe side, so the budget refuses new series early rather than late.
 */
export const SERIES_BYTES = 700
export const seriesWeight = (key: string): number => SERIES_BYTES + 4 * key.length

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
  /** Whether `minute` holds the series `key`. */
  readonly has: (minute: number, key: string) => boolean
  /** Oldest minute still held, for telling "too old" apart from "no data". */
  readonly retentionStart: (nowMs: number) => number
}

export class MetricStore extends Context.Service<MetricStore, MetricStoreShape>()("meshsight/MetricStore") {}

/**
 * `meter` holds the estimated bytes of the series kept (the aggregator counts a series in when it makes it). Each
 * minute is a table of rows (./minute-table.ts); keys and entities are held once for all minutes (./entity-registry.ts).
 */
export const makeMemoryStore = (
  retentionMinutes: number,
  maxSeriesPerMinute: number,
  meter: MemoryMeter = { bytes: 0 }
): MetricStoreShape => {
  const registry = new EntityRegistry()
  const minutes = new Map<number, MinuteTable>()
  let series = 0
  const retentionStart = (nowMs: number) => minuteOf(nowMs) - (retentionMinutes - 1) * MINUTE_MS
  return {
    merge: (minute, bucket) => {
      let table = minutes.get(minute)
      if (table === undefined) {
        table = new MinuteTable(registry)
        minutes.set(minute, table)
      }
      let refused = 0
      for (const [key, s] of bucket) {
        const id = registry.idOf(key)
        const row = id === undefined ? -1 : table.rowOf(id)
        if (row >= 0) {
          table.merge(row, s.stats)
          meter.bytes -= seriesWeight(key)
        } else if (table.size < maxSeriesPerMinute) {
          table.add(registry.hold(key, s.entity), s.entity, s.stats)
          series++
        } else {
          refused++
          meter.bytes -= seriesWeight(key)
        }
      }
      return refused
    },
    prune: (nowMs) => {
      const oldest = retentionStart(nowMs)
      for (const [minute, table] of minutes) {
        if (minute >= oldest) {
          table.settled()
          continue
        }
        series -= table.size
        for (const id of table.ids()) {
          meter.bytes -= seriesWeight(registry.key(id))
          registry.release(id)
        }
        table.drop()
        minutes.delete(minute)
      }
    },
    read: (start, end) => [...minutes].filter(([minute]) => minute >= start && minute < end).sort((a, b) => a[0] - b[0]),
    seriesCount: () => series,
    has: (minute, key) => minutes.get(minute)?.has(key) ?? false,
    retentionStart
  }
}

export const retentionMinutes = setting({
  names: ["MESHSIGHT_RETENTION_MINUTES"],
  schema: Int(1, 7 * 24 * 60),
  expected: "whole minutes from 1 to 10080",
  default: 120
})
/** Also the aggregator's: it refuses new series past this before they reach the store. */
export const maxSeriesPerMinute = setting({
  names: ["MESHSIGHT_MAX_SERIES_PER_MINUTE"],
  schema: Int(1, 100_000_000),
  expected: "a positive whole number",
  default: 500_000
})

export const layerConfig = Layer.effect(
  MetricStore,
  Effect.gen(function* () {
    const s = yield* settingsConfig({ retentionMinutes, maxSeriesPerMinute })
    const budget = yield* MemoryBudget
    return makeMemoryStore(s.retentionMinutes, s.maxSeriesPerMinute, budget.meter("series"))
  })
)
