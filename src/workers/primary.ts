// The primary process of MESHSIGHT_WORKERS > 1: it forks the workers (node:cluster; they share the gRPC listening
// socket, and Node's primary deals incoming connections to them round-robin) and keeps what must be one: the
// store, the proxies' store, the error-log store, the counters, the HTTP API and UI. Each worker's flush
// (./worker.ts) is merged here as a single process's aggregator would merge its own. A worker that exits is
// logged, counted and started again; at shutdown the workers are stopped first (SIGTERM: each drains its streams
// and sends its final flush) and only then does the store go.
import cluster, { type Worker } from "node:cluster"
import { Context, Deferred, Effect, Layer, Metric, Queue, Schema } from "effect"
import { AggregateSink } from "../aggregation/aggregator.ts"
import type { MinuteBucket } from "../domain/series.ts"
import { ErrorLogStore } from "../error-logs/error-log-store.ts"
import { IdentityResolver } from "../identity/identity-resolver.ts"
import { GrpcServer } from "../ingest/grpc-server.ts"
import { MemoryBudget } from "../memory/budget.ts"
import { ProxyMetricStore } from "../proxy-metrics/proxy-metric-store.ts"
import { MetricStore, seriesWeight } from "../store/metric-store.ts"
import { entriesReceived, errorLogsDropped, metricsSkipped, proxyInstancesStored } from "../telemetry.ts"
import { replica } from "../export/settings.ts"
import { settingConfig } from "../util/setting.ts"
import { isMeshSeriesReply, type MeshSeriesRequest, WorkerSeries, type WireSeries } from "./mesh-export-relay.ts"
import { type Flush, type FromWorker, isFromWorker, type Listening } from "./messages.ts"
import { decodeBucket } from "./series-codec.ts"
import { workerCount } from "./settings.ts"
import { makeTelemetrySum } from "./telemetry-relay.ts"

export const workerEntries = Metric.counter("meshsight_worker_entries_total", {
  description: "ALS entries decoded by each worker process (MESHSIGHT_WORKERS > 1), by worker (its slot, 0 to N-1)",
  incremental: true
})
export const workerRestarts = Metric.counter("meshsight_worker_restarts_total", {
  description: "Worker processes that exited unexpectedly and were started again (MESHSIGHT_WORKERS > 1)",
  incremental: true
})

export class WorkerStartFailed extends Schema.TaggedError<WorkerStartFailed>()("WorkerStartFailed", {
  slot: Schema.Number,
  exit: Schema.String
}) {
  override get message() {
    return `worker process ${this.slot} stopped while starting (${this.exit}); its own message is above`
  }
}

/** The environment variable that tells a forked process its slot (0 to N-1, kept across restarts). */
export const WORKER_SLOT_ENV = "MESHSIGHT_WORKER_SLOT"

/** A worker is started again this long after it exited (a worker that keeps failing does not spin the primary). */
const RESTART_DELAY_MS = 1_000
/** Where the primary's own export's self-metrics are summed with the workers' (./mesh-export-relay.ts). */
const PRIMARY_EXPORT = -1
/** How long a /metrics/mesh scrape waits for the workers' series. */
const SERIES_TIMEOUT_MS = 5_000
/** How long a stopping worker may take to drain and flush before it is killed. */
const STOP_GRACE_MS = 30_000

type Event =
  | FromWorker
  | { readonly type: "exit"; readonly pid: number | undefined; readonly code: number | null; readonly signal: string | null }

interface Slot {
  worker: Worker | undefined
  ready: boolean
  /** Whether its gRPC server is bound. */
  listening: boolean
  /** Done when the slot's worker has exited and every message it sent has been handled. */
  exited: Deferred.Deferred<void>
}

const exitText = (code: number | null, signal: string | null) => (signal !== null ? `signal ${signal}` : `exit code ${code}`)

const skipped = (reason: string) => Metric.withAttributes(metricsSkipped, { reason })
const nonFinite = skipped("non_finite")
const instanceLimit = skipped("instance_limit")
const clusterLimit = skipped("cluster_limit")
const unnamedCluster = skipped("unnamed_cluster")
const evictedLogs = Metric.withAttributes(errorLogsDropped, { reason: "evicted" })

/** Forks the workers and merges what they send; provides the gRPC ports they listen on and their readiness. */
export const WorkersLive = Layer.effectContext(
  Effect.gen(function* () {
    const count = yield* workerCount
    const replicaName = yield* settingConfig(replica)
    const sink = yield* AggregateSink
    const store = yield* MetricStore
    const budget = yield* MemoryBudget
    const proxies = yield* ProxyMetricStore
    const logs = yield* ErrorLogStore
    const context = yield* Effect.context<never>()
    const telemetry = makeTelemetrySum(context)
    const seriesMeter = budget.meter("series")
    const perWorkerEntries = Array.from({ length: count }, (_, slot) => Metric.withAttributes(workerEntries, { worker: String(slot) }))
    const events = yield* Queue.unbounded<readonly [number, Event]>()
    const started = yield* Deferred.make<Listening, WorkerStartFailed>()
    let stopping = false
    let listening: Listening | undefined

    const slots: Array<Slot> = []
    /** Open requests for the workers' Istio series, by id: the replies so far and who waits for them. */
    const seriesRequests = new Map<number, { replies: Array<ReadonlyArray<WireSeries>>; expected: number; done: () => void }>()
    let nextRequest = 0
    const fork = (slot: number) => {
      // Each worker remote-writes its own Istio series: its own meshsight_replica, so they do not overwrite each other.
      const worker = cluster.fork({ [WORKER_SLOT_ENV]: String(slot), MESHSIGHT_REPLICA: `${replicaName}-w${slot}` })
      const pid = worker.process.pid
      // After both 'exit' and 'disconnect': the channel's last messages are read before it reports closed.
      let exit: [code: number | null, signal: string | null] = [null, null]
      let pending = 2
      const gone = () => {
        if (--pending === 0) Queue.offerUnsafe(events, [slot, { type: "exit", pid, code: exit[0], signal: exit[1] }])
      }
      worker.on("message", (m: unknown) => {
        if (isFromWorker(m)) Queue.offerUnsafe(events, [slot, m])
        else if (isMeshSeriesReply(m)) {
          const request = seriesRequests.get(m.id)
          if (request === undefined) return
          request.replies.push(m.series)
          if (request.replies.length === request.expected) request.done()
        }
      })
      worker.once("exit", (code, signal) => {
        exit = [code, signal]
        gone()
      })
      worker.once("disconnect", gone)
      slots[slot] = { worker, ready: false, listening: false, exited: Deferred.makeUnsafe<void>() }
    }

    const merge = (slot: number, m: Flush) =>
      Effect.gen(function* () {
        const buckets = new Map<number, MinuteBucket>()
        let refusedForMemory = m.refusedForMemory
        for (const encoded of m.buckets) {
          const bucket = decodeBucket(encoded)
          // The aggregator's memory rule, applied where the store is: a full budget takes only series it holds.
          for (const key of bucket.keys()) {
            if (budget.full() && !store.has(encoded.minute, key)) {
              bucket.delete(key)
              refusedForMemory++
            } else seriesMeter.bytes += seriesWeight(key)
          }
          buckets.set(encoded.minute, bucket)
        }
        yield* sink.take({ buckets, refused: m.refused, refusedForMemory, overflow: m.overflow, overflowed: [...m.overflowed] }, m.nowMs)
        let evicted = 0
        for (const [nowMs, batch] of m.errorLogs) evicted += logs.add(batch, nowMs)
        if (evicted > 0) evictedLogs.updateUnsafe(evicted, context)
        for (const [nowMs, identity, families] of m.proxyMetrics) {
          const outcome = proxies.record(identity, families, nowMs)
          if (outcome.nonFinite > 0) nonFinite.updateUnsafe(outcome.nonFinite, context)
          if (outcome.instanceRefused) instanceLimit.updateUnsafe(1, context)
          if (outcome.clustersRefused > 0) clusterLimit.updateUnsafe(outcome.clustersRefused, context)
          if (outcome.clustersUnnamed > 0) unnamedCluster.updateUnsafe(outcome.clustersUnnamed, context)
        }
        if (m.proxyMetrics.length > 0) proxyInstancesStored.updateUnsafe(proxies.instanceCount(), context)
        telemetry.add(slot, m.telemetry)
        const entries = m.telemetry.counters.reduce((n, [id, , delta]) => (id === entriesReceived.id ? n + delta : n), 0)
        if (entries > 0) perWorkerEntries[slot].updateUnsafe(entries, context)
        slots[slot].ready = m.ready
      })

    const handle = ([slot, event]: readonly [number, Event]) =>
      Effect.gen(function* () {
        switch (event.type) {
          case "listening":
            slots[slot].ready = event.ready
            slots[slot].listening = true
            // Start-up is over once every worker listens; a restarted worker just joins.
            if (slots.length === count && slots.every((s) => s.listening)) {
              listening ??= event
              yield* Deferred.succeed(started, listening)
            }
            return
          case "flush":
            return yield* merge(slot, event)
          case "exit": {
            const s = slots[slot]
            s.worker = undefined
            s.ready = false
            s.listening = false
            telemetry.forget(slot)
            yield* Deferred.succeed(s.exited, undefined)
            if (stopping) return
            if (listening === undefined) {
              return yield* Deferred.fail(started, new WorkerStartFailed({ slot, exit: exitText(event.code, event.signal) }))
            }
            yield* Metric.update(workerRestarts, 1)
            yield* Effect.logError(
              `worker ${slot} (pid ${event.pid}) exited unexpectedly (${exitText(event.code, event.signal)}): its streams ` +
                "reconnect to the other workers, and what it had not flushed yet is lost; starting another"
            )
            // Waiting apart: the other workers' flushes go on being merged meanwhile.
            yield* Effect.forkChild(
              Effect.andThen(
                Effect.sleep(RESTART_DELAY_MS),
                Effect.sync(() => {
                  if (!stopping) fork(slot)
                })
              )
            )
          }
        }
      })

    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(events), handle)))
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        stopping = true
        const live = slots.filter((s) => s.worker !== undefined)
        for (const s of live) s.worker!.process.kill("SIGTERM")
        yield* Effect.forEach(live, (s) => Deferred.await(s.exited), { discard: true }).pipe(
          Effect.timeoutOrElse({
            duration: STOP_GRACE_MS,
            orElse: () =>
              Effect.andThen(
                Effect.sync(() => {
                  for (const s of slots) s.worker?.process.kill("SIGKILL")
                }),
                Effect.logWarning(`workers still running ${STOP_GRACE_MS} ms after SIGTERM were killed`)
              )
          })
        )
        yield* Effect.logInfo(`workers stopped (${live.length}); the store holds ${store.seriesCount()} series`)
      })
    )

    // Structured clone keeps typed arrays and Maps whole, and costs less than JSON for the series' numbers.
    cluster.setupPrimary({ serialization: "advanced" })
    for (let slot = 0; slot < count; slot++) fork(slot)
    const bound = yield* Deferred.await(started)
    yield* Effect.logInfo(`${count} worker processes run the ingest pipeline on gRPC port ${bound.port} (MESHSIGHT_WORKERS)`)

    const collect = Effect.callback<ReadonlyArray<ReadonlyArray<WireSeries>>>((resume) => {
      const id = nextRequest++
      const live = slots.filter((s) => s.worker !== undefined)
      const replies: Array<ReadonlyArray<WireSeries>> = []
      const done = () => {
        clearTimeout(timer)
        seriesRequests.delete(id)
        resume(Effect.succeed(replies))
      }
      // A worker busy or gone past the timeout is left out of this scrape rather than holding it.
      const timer = setTimeout(done, SERIES_TIMEOUT_MS)
      seriesRequests.set(id, { replies, expected: live.length, done })
      if (live.length === 0) return done()
      for (const s of live) s.worker!.send({ type: "mesh-series-request", id } satisfies MeshSeriesRequest)
    })

    return Context.make(GrpcServer, { port: bound.port, alsPort: bound.alsPort }).pipe(
      Context.add(WorkerSeries, { collect, addOwn: (delta) => telemetry.add(PRIMARY_EXPORT, delta) }),
      Context.add(IdentityResolver, {
        http: [],
        tcp: [],
        forStream: () => {
          throw new Error("the primary process resolves no identities: its workers do")
        },
        reads: { addresses: false, filterState: false },
        // Ready when the running workers' analyzers can answer (one being started again leaves the others serving).
        isReady: () => {
          const running = slots.filter((s) => s.worker !== undefined)
          return running.length > 0 && running.every((s) => s.ready)
        }
      })
    )
  })
)
