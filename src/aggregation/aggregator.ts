// The aggregate stage: records → per-minute series (docs/design.md §5). Records accumulate in memory and merge into
// the store every flush interval (and once more at shutdown), so a call is queryable within about a second.
import { Clock, Context, Effect, Layer, Metric, Schema, SchemaGetter } from "effect"
import type { MeshMetric } from "../domain/mesh-metric.ts"
import { MINUTE_MS, minuteOf } from "../domain/minute.ts"
import type { Entity, MinuteBucket } from "../domain/series.ts"
import { SeriesStats } from "../domain/series-stats.ts"
import { maxSeriesPerMinute, MetricStore, type MetricStoreShape, seriesWeight } from "../store/metric-store.ts"
import { MemoryBudget, type MemoryBudgetShape, unlimitedBudget } from "../memory/budget.ts"
import { reportMemory } from "../memory/report.ts"
import { endpointsOverflow, seriesRefused, seriesStored } from "../telemetry.ts"
import { Int, setting, settingsConfig } from "../util/setting.ts"
import { makeEndpointCap, OTHER_ENDPOINT } from "./endpoint-cap.ts"
import { makeKeyMemo } from "./entity.ts"

/** Envoy's clock may run a little ahead of ours: a record up to this far in the future still counts. */
const FUTURE_TOLERANCE_MS = MINUTE_MS

export interface RecordOutcome {
  /** Records older than the retention window. */
  tooOld: number
  /** Records stamped further in the future than the clock-skew tolerance. */
  future: number
}

export interface AggregatorShape {
  /** Adds a batch of records; `nowMs` is the current time (read once per batch from Effect's Clock). */
  readonly record: (metrics: ReadonlyArray<MeshMetric>, nowMs: number) => RecordOutcome
  /** Moves everything pending into the store and applies retention; returns how many series it moved. */
  readonly flush: Effect.Effect<number>
}

export class Aggregator extends Context.Service<Aggregator, AggregatorShape>()("meshsight/Aggregator") {}

export interface AggregatorOptions {
  readonly apdexThresholdMs: number
  readonly apdexThresholdsMs: Readonly<Record<string, number>>
  readonly maxSeriesPerMinute: number
  readonly maxEndpointsPerService: number
  /** The oldest minute still kept, given the time now. */
  readonly retentionStart: (nowMs: number) => number
  /** New series are refused while the budget is full, and counted into its "series" part (default: no limit). */
  readonly budget?: MemoryBudgetShape
  /** Whether the store already holds `key` in `minute`: such a series is not new, so a full budget takes it. */
  readonly isStored?: (minute: number, key: string) => boolean
}

// A new series' entity, from the record that starts it (module-level: no closure per record). Relation builders
// are only called for records with a source.
const serviceEntity = ({ destination: d }: MeshMetric): Entity => ({ scope: "service", service: d.service, namespace: d.namespace })
const instanceEntity = ({ destination: d }: MeshMetric): Entity => ({
  scope: "instance",
  service: d.service,
  namespace: d.namespace,
  instance: d.instance
})
const endpointEntity = ({ destination: d, endpoint }: MeshMetric): Entity => ({
  scope: "endpoint",
  service: d.service,
  namespace: d.namespace,
  endpoint
})
const otherEndpointEntity = ({ destination: d }: MeshMetric): Entity => ({
  scope: "endpoint",
  service: d.service,
  namespace: d.namespace,
  endpoint: OTHER_ENDPOINT
})
const serviceRelationEntity = ({ source, destination: d, detectPoint }: MeshMetric): Entity => ({
  scope: "serviceRelation",
  detectPoint,
  source: source!.service,
  sourceNamespace: source!.namespace,
  target: d.service,
  targetNamespace: d.namespace
})
const instanceRelationEntity = ({ source, destination: d, detectPoint }: MeshMetric): Entity => ({
  scope: "instanceRelation",
  detectPoint,
  source: source!.service,
  sourceInstance: source!.instance,
  target: d.service,
  targetInstance: d.instance
})

export const makeAggregator = (options: AggregatorOptions) => {
  let pending = new Map<number, MinuteBucket>()
  let refusedInPending = 0
  let refusedForMemory = 0
  let overflowInPending = 0
  // The whole retention's series, across minutes, are bounded by the budget: the per-minute limit alone let
  // entries stamped over 120 minutes keep 120 × that many.
  const budget = options.budget ?? unlimitedBudget()
  const seriesMeter = budget.meter("series")
  const cap = makeEndpointCap(options.maxEndpointsPerService)
  // A Map, not the settings' object: indexing that object by each record's service was a megamorphic keyed load,
  // and a service named like an Object.prototype member ("constructor") would have read that member as its T.
  const thresholds = new Map(Object.entries(options.apdexThresholdsMs))
  const apdexOf = (service: string) =>
    thresholds.size === 0 ? options.apdexThresholdMs : (thresholds.get(service) ?? options.apdexThresholdMs)

  const keys = makeKeyMemo()
  /**
   * The minute `record` is filling, for statsFor's rare full-budget check. Held here rather than passed: a minute is
   * epoch milliseconds, too large for a small integer, so each call that took it as an argument boxed it anew.
   */
  let minute = Number.NaN

  /** The series of `key` in `bucket` (of `minute`), made (entity and all) when new; `undefined` when refused. */
  const statsFor = (bucket: MinuteBucket, key: string, entityOf: (m: MeshMetric) => Entity, m: MeshMetric, hasApdex: boolean) => {
    const existing = bucket.get(key)
    if (existing !== undefined) return existing.stats
    if (bucket.size >= options.maxSeriesPerMinute) {
      refusedInPending++
      return undefined
    }
    if (budget.full() && options.isStored?.(minute, key) !== true) {
      refusedForMemory++
      return undefined
    }
    seriesMeter.bytes += seriesWeight(key)
    const stats = new SeriesStats(hasApdex)
    bucket.set(key, { entity: entityOf(m), stats })
    return stats
  }

  const record = (metrics: ReadonlyArray<MeshMetric>, nowMs: number): RecordOutcome => {
    const outcome: RecordOutcome = { tooOld: 0, future: 0 }
    const oldest = options.retentionStart(nowMs)
    const newest = minuteOf(nowMs + FUTURE_TOLERANCE_MS)
    minute = Number.NaN
    let bucket: MinuteBucket | undefined
    for (const m of metrics) {
      const recordMinute = minuteOf(m.startTimeMs)
      if (recordMinute < oldest) {
        outcome.tooOld++
        continue
      }
      if (recordMinute > newest) {
        outcome.future++
        continue
      }
      // A message's records nearly always share their minute.
      if (recordMinute !== minute || bucket === undefined) {
        minute = recordMinute
        bucket = pending.get(minute)
        if (bucket === undefined) {
          bucket = new Map()
          pending.set(minute, bucket)
        }
      }
      const dst = m.destination
      const src = m.source
      if (m.detectPoint === "server") {
        // Service, instance and endpoint metrics are the destination's own view: server side only.
        const own = keys.of(dst)
        statsFor(bucket, own.service, serviceEntity, m, true)?.record(m, apdexOf(dst.service))
        if (dst.instance !== "") statsFor(bucket, own.instance, instanceEntity, m, false)?.record(m, 0)
        if (m.endpoint !== "") {
          const key = keys.endpoint(own, dst, m.endpoint)
          const series = bucket.get(key)
          // The cap is asked only when the series is new to the pending bucket; grouped names are exempt.
          if (series !== undefined) series.stats.record(m, 0)
          else if (m.endpointGrouped || cap.admit(minute, dst.service, key)) {
            statsFor(bucket, key, endpointEntity, m, false)?.record(m, 0)
          } else {
            overflowInPending++
            statsFor(bucket, keys.endpoint(own, dst, OTHER_ENDPOINT), otherEndpointEntity, m, false)?.record(m, 0)
          }
        }
      }
      if (src === undefined) continue
      const pair = keys.pair(src, dst)
      statsFor(bucket, keys.serviceRelation(pair, m.detectPoint, src, dst), serviceRelationEntity, m, false)?.record(m, 0)
      if (src.instance !== "" && dst.instance !== "") {
        statsFor(bucket, keys.instanceRelation(pair, m.detectPoint, src, dst), instanceRelationEntity, m, false)?.record(m, 0)
      }
    }
    return outcome
  }

  /**
   * Hands the pending buckets over and starts new ones, with what the limits did meanwhile: series refused, calls
   * counted under OTHER_ENDPOINT, services that first went over the endpoint cap. `oldest` is the oldest minute
   * still accepted (the cap forgets the minutes before it).
   */
  const drain = (oldest: number) => {
    const out = {
      buckets: pending,
      refused: refusedInPending,
      refusedForMemory,
      overflow: overflowInPending,
      overflowed: cap.takeOverflowed()
    }
    pending = new Map()
    refusedInPending = 0
    refusedForMemory = 0
    overflowInPending = 0
    cap.prune(oldest)
    return out
  }

  return { record, drain }
}

const minuteLimitRefusals = Metric.withAttributes(seriesRefused, { reason: "minute_limit" })
const memoryRefusals = Metric.withAttributes(seriesRefused, { reason: "memory" })
const mib = (bytes: number) => `${Math.round(bytes / (1024 * 1024))} MiB`
export const flushIntervalMs = setting({
  names: ["MESHSIGHT_FLUSH_INTERVAL_MS"],
  schema: Int(10, 60_000),
  expected: "milliseconds from 10 to 60000",
  default: 1000
})
export const apdexThresholdMs = setting({
  names: ["MESHSIGHT_APDEX_THRESHOLD_MS"],
  schema: Int(1, 3_600_000),
  expected: "milliseconds from 1 to 3600000",
  default: 500
})
/** `SERVICE=MILLISECONDS,…` */
const thresholdMap = Schema.Trim.pipe(
  Schema.decodeTo(Schema.Record(Schema.String, Schema.Finite.check(Schema.isGreaterThan(0))), {
    decode: SchemaGetter.transform((s: string) =>
      Object.fromEntries(
        s
          .split(",")
          .filter((x) => x.trim() !== "")
          .map((pair) => {
            const eq = pair.lastIndexOf("=")
            return [pair.slice(0, eq).trim(), eq > 0 ? Number(pair.slice(eq + 1)) : Number.NaN]
          })
      )
    ),
    encode: SchemaGetter.transform((r: Readonly<Record<string, number>>) =>
      Object.entries(r)
        .map(([k, v]) => `${k}=${v}`)
        .join(",")
    )
  })
)

export const apdexThresholdsMs = setting({
  names: ["MESHSIGHT_APDEX_THRESHOLDS"],
  schema: thresholdMap,
  expected: "comma-separated SERVICE=MILLISECONDS pairs",
  default: {} as Readonly<Record<string, number>>
})
export const maxEndpointsPerService = setting({
  names: ["MESHSIGHT_MAX_ENDPOINTS_PER_SERVICE", "SW_CORE_MAX_HTTP_URIS_NUMBER_PER_SVR"],
  schema: Int(1, 10_000_000),
  expected: "a positive whole number",
  default: 3000
})

/** What a flush hands on: the pending buckets and what the limits did meanwhile (see `drain`). */
export type Drained = ReturnType<ReturnType<typeof makeAggregator>["drain"]>

export interface AggregateSinkShape {
  /** Takes a flush's drained buckets (and ownership of their stats); returns how many series it moved. */
  readonly take: (drained: Drained, nowMs: number) => Effect.Effect<number>
  /** The oldest minute still kept, given the time now. */
  readonly retentionStart: (nowMs: number) => number
  /** Whether `key` is already held in `minute` (a full memory budget still takes such a series). */
  readonly isStored: (minute: number, key: string) => boolean
}

/**
 * Where the aggregator's flushes go: the store (./StoreSinkLive), or with MESHSIGHT_WORKERS > 1 the primary
 * process that holds it (src/workers/).
 */
export class AggregateSink extends Context.Service<AggregateSink, AggregateSinkShape>()("meshsight/AggregateSink") {}

/** Merges drained buckets into the store, applies retention, and counts and logs what the limits refused. */
export const makeStoreSink = (
  store: MetricStoreShape,
  budget: MemoryBudgetShape,
  config: { readonly maxSeriesPerMinute: number; readonly maxEndpointsPerService: number }
): AggregateSinkShape => ({
  retentionStart: store.retentionStart,
  isStored: store.has,
  take: (drained, now) =>
    Effect.gen(function* () {
      let refused = drained.refused
      let moved = 0
      for (const [minute, bucket] of drained.buckets) {
        moved += bucket.size
        refused += store.merge(minute, bucket)
      }
      store.prune(now)
      if (refused > 0) {
        yield* Metric.update(minuteLimitRefusals, refused)
        yield* Effect.logWarning(
          `${refused} new series refused: a minute holds at most ${config.maxSeriesPerMinute} (MESHSIGHT_MAX_SERIES_PER_MINUTE)`
        )
      }
      if (drained.refusedForMemory > 0) {
        yield* Metric.update(memoryRefusals, drained.refusedForMemory)
        yield* Effect.logWarning(
          `${drained.refusedForMemory} new series refused: retained data holds ${mib(budget.used())} of the ` +
            `${mib(budget.retainedLimitBytes)} the ${mib(budget.limitBytes)} memory budget allows (MESHSIGHT_MEMORY_LIMIT_MB)`
        )
      }
      yield* reportMemory(budget)
      if (drained.overflow > 0) yield* Metric.update(endpointsOverflow, drained.overflow)
      if (drained.overflowed.length > 0) {
        yield* Effect.logWarning(
          `more than ${config.maxEndpointsPerService} distinct endpoints in a minute (MESHSIGHT_MAX_ENDPOINTS_PER_SERVICE): ` +
            `further calls counted under "${OTHER_ENDPOINT}" for ${drained.overflowed.join(", ")}` +
            " (add grouping rules: MESHSIGHT_ENDPOINT_GROUPING_FILE)"
        )
      }
      yield* Metric.update(seriesStored, store.seriesCount())
      return moved
    })
})

export const StoreSinkLive = Layer.effect(
  AggregateSink,
  Effect.gen(function* () {
    const config = yield* settingsConfig({ maxSeriesPerMinute, maxEndpointsPerService })
    return makeStoreSink(yield* MetricStore, yield* MemoryBudget, config)
  })
)

/** The aggregator feeding an AggregateSink: the store here, the primary process in a worker (src/workers/). */
export const AggregatorToSink = Layer.effect(
  Aggregator,
  Effect.gen(function* () {
    const config = yield* settingsConfig({
      flushIntervalMs,
      apdexThresholdMs,
      apdexThresholdsMs,
      maxSeriesPerMinute,
      maxEndpointsPerService
    })
    const sink = yield* AggregateSink
    const budget = yield* MemoryBudget
    const aggregator = makeAggregator({
      budget,
      isStored: sink.isStored,
      apdexThresholdMs: config.apdexThresholdMs,
      apdexThresholdsMs: config.apdexThresholdsMs,
      maxSeriesPerMinute: config.maxSeriesPerMinute,
      maxEndpointsPerService: config.maxEndpointsPerService,
      retentionStart: sink.retentionStart
    })
    const flush = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      return yield* sink.take(aggregator.drain(sink.retentionStart(now)), now)
    })
    // Flush on a fixed beat (virtual time under TestClock), and once more when the layer closes at shutdown.
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(config.flushIntervalMs), flush)))
    yield* Effect.addFinalizer(() => Effect.flatMap(flush, (moved) => Effect.logInfo(`final flush: ${moved} pending series stored`)))
    return { record: aggregator.record, flush }
  })
)

/** The aggregator flushing into the MetricStore (one process: MESHSIGHT_WORKERS=1). */
export const AggregatorLive = AggregatorToSink.pipe(Layer.provide(StoreSinkLive))
