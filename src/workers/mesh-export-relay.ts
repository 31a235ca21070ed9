// The Istio-standard export with MESHSIGHT_WORKERS > 1. Records stay in the worker that analysed them: each worker
// keeps its own series (src/export/mesh-series.ts, fed per record in its ingest loop; forwarding records would
// cost IPC per record). A /metrics/mesh scrape of the primary asks every worker for its series, adds up those with
// the same labels (counters and histogram buckets add) and renders them with the proxies' gauges, which the
// primary's ProxyMetricStore holds. Remote write: each worker sends its own series with meshsight_replica
// "<MESHSIGHT_REPLICA>-w<slot>" (./primary.ts sets it), and the primary sends the proxies' gauges under
// MESHSIGHT_REPLICA itself; summing over meshsight_replica, as across replicas, gives the totals.
import { Clock, Context, Effect, Layer, Metric } from "effect"
import { renderExposition } from "../export/exposition.ts"
import { MeshExport, MeshExportLive } from "../export/mesh-export.ts"
import type { MeshSeries } from "../export/mesh-series.ts"
import { proxyGauges } from "../export/proxy-series.ts"
import { meshMetricsIdleMinutes } from "../export/settings.ts"
import { ProxyMetricStore } from "../proxy-metrics/proxy-metric-store.ts"
import { settingConfig } from "../util/setting.ts"
import { makeTelemetryDeltas, type TelemetryDelta } from "./telemetry-relay.ts"

/** A series as it crosses the IPC channel. */
export type WireSeries = Pick<MeshSeries, "kind" | "labelText" | "pairs" | "values" | "lastUpdateMs">

export interface MeshSeriesRequest {
  readonly type: "mesh-series-request"
  readonly id: number
}

export interface MeshSeriesReply {
  readonly type: "mesh-series"
  readonly id: number
  readonly series: ReadonlyArray<WireSeries>
}

export const isMeshSeriesReply = (m: unknown): m is MeshSeriesReply =>
  typeof m === "object" && m !== null && (m as MeshSeriesReply).type === "mesh-series"

export interface WorkerSeriesShape {
  /** Every live worker's series (a worker that does not answer in time is left out). */
  readonly collect: Effect.Effect<ReadonlyArray<ReadonlyArray<WireSeries>>>
  /** Adds the primary's own export's counters and gauges to /metrics as a worker's are (./telemetry-relay.ts). */
  readonly addOwn: (delta: TelemetryDelta) => void
}

/** The primary's side of the workers' Istio series (./primary.ts provides it). */
export class WorkerSeries extends Context.Service<WorkerSeries, WorkerSeriesShape>()("meshsight/workers/WorkerSeries") {}

/** Series with the same labels from several workers, added up. */
export const mergeSeries = (parts: ReadonlyArray<ReadonlyArray<WireSeries>>): Array<MeshSeries> => {
  const merged = new Map<string, MeshSeries>()
  for (const part of parts) {
    for (const s of part) {
      const known = merged.get(s.labelText)
      if (known === undefined) merged.set(s.labelText, { ...s, values: Float64Array.from(s.values), announced: false })
      else {
        for (let i = 0; i < s.values.length; i++) known.values[i] += s.values[i]
        known.lastUpdateMs = Math.max(known.lastUpdateMs, s.lastUpdateMs)
      }
    }
  }
  return [...merged.values()]
}

/** In a worker: answers the primary's requests for its series. */
export const AnswerSeriesRequests = Layer.effectDiscard(
  Effect.gen(function* () {
    const meshExport = yield* MeshExport
    const onMessage = (m: unknown) => {
      if (typeof m !== "object" || m === null || (m as MeshSeriesRequest).type !== "mesh-series-request") return
      const series = [...meshExport.series()].map(({ kind, labelText, pairs, values, lastUpdateMs }) => ({
        kind,
        labelText,
        pairs,
        values,
        lastUpdateMs
      }))
      process.send?.({ type: "mesh-series", id: (m as MeshSeriesRequest).id, series } satisfies MeshSeriesReply)
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => process.on("message", onMessage)),
      () => Effect.sync(() => process.off("message", onMessage))
    )
  })
)

/** How often the primary's own export's counters and gauges join the workers' in /metrics. */
const OWN_TELEMETRY_MS = 1_000

/**
 * In the primary: the export as the one process has it (remote write of the proxies' gauges, its housekeeping),
 * but /metrics/mesh renders the workers' series merged. Its own self-metrics (an empty registry's label-set gauge,
 * the remote-write counters and gauges) are kept in a metric registry of their own and added to the workers' as
 * one more worker's, so that they neither overwrite the workers' sums nor are overwritten by them.
 */
export const ClusterMeshExport = Layer.effect(
  MeshExport,
  Effect.gen(function* () {
    const registry: Metric.MetricRegistry = new Map()
    const own = Context.get(yield* Layer.build(MeshExportLive).pipe(Effect.provideService(Metric.MetricRegistry, registry)), MeshExport)
    const workers = yield* WorkerSeries
    const deltas = makeTelemetryDeltas()
    const ownContext = Context.make(Metric.MetricRegistry, registry)
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.andThen(
          Effect.sleep(OWN_TELEMETRY_MS),
          Effect.sync(() => workers.addOwn(deltas(Metric.snapshotUnsafe(ownContext))))
        )
      )
    )
    const proxies = yield* ProxyMetricStore
    const idleMs = (yield* settingConfig(meshMetricsIdleMinutes)) * 60_000
    if (!own.enabled) return own
    return {
      ...own,
      series: () => [],
      scrape: (openMetrics: boolean) =>
        Effect.gen(function* () {
          const merged = mergeSeries(yield* workers.collect)
          return renderExposition(merged, openMetrics, proxyGauges(proxies, yield* Clock.currentTimeMillis, idleMs))
        })
    }
  })
)
