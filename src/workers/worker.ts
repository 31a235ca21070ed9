// The worker side of MESHSIGHT_WORKERS > 1 (./primary.ts forks the workers): a worker runs the gRPC server and the
// pipeline (decode → identify → analyze → aggregate) as one process would, but what it would keep goes to the
// primary over the cluster IPC channel, once per aggregator flush: the minute buckets (./series-codec.ts), its
// counters' growth and gauges (./telemetry-relay.ts), the error logs it kept and the MetricsService families of
// identified proxies. The primary holds the one store that the API, /metrics and the UI read.
import { Context, Effect, Layer, Metric } from "effect"
import { AggregateSink } from "../aggregation/aggregator.ts"
import { MINUTE_MS, minuteOf } from "../domain/minute.ts"
import type { MetricFamily } from "../domain/metric-family.ts"
import { ErrorLogStore, LogsUnavailable, type NewErrorLog } from "../error-logs/error-log-store.ts"
import { IdentityResolver } from "../identity/identity-resolver.ts"
import { GrpcServer } from "../ingest/grpc-server.ts"
import { MemoryBudget } from "../memory/budget.ts"
import { reportMemory } from "../memory/report.ts"
import { type ProxyIdentity, ProxyMetricStore } from "../proxy-metrics/proxy-metric-store.ts"
import { retentionMinutes, seriesWeight } from "../store/metric-store.ts"
import { settingConfig } from "../util/setting.ts"
import type { FromWorker } from "./messages.ts"
import { encodeBucket, type EncodedBucket } from "./series-codec.ts"
import { makeTelemetryDeltas } from "./telemetry-relay.ts"

/** Sends to the primary and waits until the message is handed to the channel (so a last flush is not lost). */
const send = (message: FromWorker) =>
  Effect.callback<void>((resume) => {
    if (process.send === undefined || !process.connected) return resume(Effect.void)
    process.send(message, undefined, undefined, () => resume(Effect.void))
  })

/** What the worker's stores would have kept, waiting for the next flush. */
interface OutboxShape {
  errorLogs: Array<readonly [number, ReadonlyArray<NewErrorLog>]>
  proxyMetrics: Array<readonly [number, ProxyIdentity, ReadonlyArray<MetricFamily>]>
}

export class Outbox extends Context.Service<Outbox, OutboxShape>()("meshsight/workers/Outbox") {}

/** One per worker process, shared by the forwarding stores and the sink (src/app.ts provides it once). */
export const OutboxLive = Layer.sync(Outbox, () => ({ errorLogs: [], proxyMetrics: [] }))

/** Error logs kept by the worker's collector (rate-limited there) go to the primary's store. */
export const ForwardedErrorLogsLive = Layer.effect(
  ErrorLogStore,
  Effect.gen(function* () {
    const outbox = yield* Outbox
    return {
      add: (logs: ReadonlyArray<NewErrorLog>, nowMs: number) => {
        outbox.errorLogs.push([nowMs, logs])
        return 0
      },
      query: () => Effect.fail(new LogsUnavailable({ message: "a worker process holds no error logs: the primary answers /api/logs" }))
    }
  })
)

const NOTHING_REFUSED = { nonFinite: 0, instanceRefused: false, clustersRefused: 0, clustersUnnamed: 0 } as const

/**
 * MetricsService families of identified proxies go to the primary's ProxyMetricStore, which applies its limits
 * and counts what it leaves out; the worker holds none (so its Istio export has no `envoy_*` gauges).
 */
export const ForwardedProxyMetricsLive = Layer.effect(
  ProxyMetricStore,
  Effect.gen(function* () {
    const outbox = yield* Outbox
    const retention = yield* settingConfig(retentionMinutes)
    return {
      record: (identity: ProxyIdentity, families: ReadonlyArray<MetricFamily>, nowMs: number) => {
        outbox.proxyMetrics.push([nowMs, identity, families])
        return NOTHING_REFUSED
      },
      instance: () => undefined,
      instancesOf: () => [],
      allInstances: () => [],
      retentionStart: (nowMs: number) => minuteOf(nowMs) - (retention - 1) * MINUTE_MS,
      instanceCount: () => 0
    }
  })
)

/**
 * The aggregator's flushes go to the primary, with everything else gathered since the last one. The worker keeps
 * no series between flushes: its budget's series part counts only what is pending, and the primary refuses new
 * series when its own budget (which counts the store) is full.
 */
export const PrimarySinkLive = Layer.effect(
  AggregateSink,
  Effect.gen(function* () {
    const outbox = yield* Outbox
    const budget = yield* MemoryBudget
    const identity = yield* IdentityResolver
    const retention = yield* settingConfig(retentionMinutes)
    const seriesMeter = budget.meter("series")
    const telemetryDeltas = makeTelemetryDeltas()
    return {
      // The store's window (src/store/metric-store.ts): records older than it are dropped here already.
      retentionStart: (nowMs: number) => minuteOf(nowMs) - (retention - 1) * MINUTE_MS,
      isStored: () => false,
      take: (drained, nowMs) =>
        Effect.gen(function* () {
          const buckets: Array<EncodedBucket> = []
          let moved = 0
          for (const [minute, bucket] of drained.buckets) {
            moved += bucket.size
            for (const key of bucket.keys()) seriesMeter.bytes -= seriesWeight(key)
            buckets.push(encodeBucket(minute, bucket))
          }
          yield* reportMemory(budget)
          const errorLogs = outbox.errorLogs.splice(0)
          const proxyMetrics = outbox.proxyMetrics.splice(0)
          yield* send({
            type: "flush",
            nowMs,
            buckets,
            refused: drained.refused,
            refusedForMemory: drained.refusedForMemory,
            overflow: drained.overflow,
            overflowed: drained.overflowed,
            telemetry: telemetryDeltas(yield* Metric.snapshot),
            errorLogs,
            proxyMetrics,
            ready: identity.isReady()
          })
          return moved
        })
    }
  })
)

/** Tells the primary the gRPC server is bound (and on which ports), once the worker's pipeline is up. */
export const ReportListening = Layer.effectDiscard(
  Effect.gen(function* () {
    const grpc = yield* GrpcServer
    const identity = yield* IdentityResolver
    yield* send({ type: "listening", port: grpc.port, alsPort: grpc.alsPort, ready: identity.isReady() })
  })
)
