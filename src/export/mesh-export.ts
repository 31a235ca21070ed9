// The Istio-standard export stage: the same records the aggregator gets, as Istio's standard metrics for
// Prometheus (scraped at /metrics/mesh) and for remote write, and beside them the proxies' MetricsService data
// (read from ProxyMetricStore at scrape and snapshot time). Swappable as a Layer (src/app.ts);
// MESHSIGHT_MESH_METRICS=false leaves only a no-op.
import { Clock, Context, Effect, Layer, Metric } from "effect"
import { type SettingValues, settingsConfig } from "../util/setting.ts"
import * as settings from "./settings.ts"
import type { MeshMetric } from "../domain/mesh-metric.ts"
import { ProxyMetricStore } from "../proxy-metrics/proxy-metric-store.ts"
import { meshSeries, meshSeriesEvicted, meshSeriesRefused } from "../telemetry.ts"
import { renderExposition } from "./exposition.ts"
import { type MeshSeries, makeMeshSeries } from "./mesh-series.ts"
import { proxyGauges } from "./proxy-series.ts"
import { makeEndpoint, snapshotBatches } from "./remote-write.ts"

export interface MeshExportShape {
  /** Whether the export is on (off: `record` does nothing and /metrics/mesh answers 404). */
  readonly enabled: boolean
  /** Adds one ALS message's records; synchronous, called from the ingest batch loop. */
  readonly record: (metrics: ReadonlyArray<MeshMetric>, nowMs: number) => void
  /** The Istio series held (cumulative since start): a worker's, for the primary's /metrics/mesh (src/workers/). */
  readonly series: () => Iterable<MeshSeries>
  /** The exposition text of every series (cumulative since start), then the proxies' gauges now. */
  readonly scrape: (openMetrics: boolean) => Effect.Effect<string>
}

export class MeshExport extends Context.Service<MeshExport, MeshExportShape>()("meshsight/MeshExport") {}

/** How often idle series are evicted and the export's own gauges updated. */
const HOUSEKEEPING_MS = 5_000

/** Authorization and extra headers for every remote-write request. */
export const remoteWriteHeaders = (
  c: Pick<
    SettingValues<typeof exportSettings>,
    "remoteWriteUsername" | "remoteWritePassword" | "remoteWriteBearerToken" | "remoteWriteHeaders"
  >
): Record<string, string> =>
  settings.authHeaders({
    username: c.remoteWriteUsername,
    password: c.remoteWritePassword,
    bearerToken: c.remoteWriteBearerToken,
    headers: c.remoteWriteHeaders
  })

export const MeshExportDisabled = Layer.succeed(MeshExport, {
  enabled: false,
  record: () => {},
  series: () => [],
  scrape: () => Effect.succeed("")
})

const exportSettings = {
  meshMetricsEnabled: settings.meshMetricsEnabled,
  meshMetricsIdleMinutes: settings.meshMetricsIdleMinutes,
  meshMetricsMaxSeries: settings.meshMetricsMaxSeries,
  remoteWriteUrls: settings.remoteWriteUrls,
  remoteWriteIntervalMs: settings.remoteWriteIntervalMs,
  remoteWriteTimeoutMs: settings.remoteWriteTimeoutMs,
  remoteWriteQueueSamples: settings.remoteWriteQueueSamples,
  remoteWriteUsername: settings.remoteWriteUsername,
  remoteWritePassword: settings.remoteWritePassword,
  remoteWriteBearerToken: settings.remoteWriteBearerToken,
  remoteWriteHeaders: settings.remoteWriteHeaders,
  replica: settings.replica
}

export const MeshExportLive = Layer.unwrap(
  Effect.gen(function* () {
    const config = yield* settingsConfig(exportSettings)
    if (!config.meshMetricsEnabled) return MeshExportDisabled
    return Layer.effect(
      MeshExport,
      Effect.gen(function* () {
        const proxies = yield* ProxyMetricStore
        const idleMs = config.meshMetricsIdleMinutes * 60_000
        const extraPairs = config.remoteWriteUrls.length > 0 ? [["meshsight_replica", config.replica] as const] : []
        const registry = makeMeshSeries({ maxSeries: config.meshMetricsMaxSeries, idleMs, extraPairs })
        let refusedReported = 0
        let refusedWarned = false
        const housekeeping = Effect.gen(function* () {
          const evicted = registry.evictIdle(yield* Clock.currentTimeMillis)
          if (evicted > 0) yield* Metric.update(meshSeriesEvicted, evicted)
          const refused = registry.refusedTotal() - refusedReported
          refusedReported += refused
          if (refused > 0) {
            yield* Metric.update(meshSeriesRefused, refused)
            if (!refusedWarned) {
              refusedWarned = true
              yield* Effect.logWarning(
                `Istio-standard metrics hold ${config.meshMetricsMaxSeries} label sets (MESHSIGHT_MESH_METRICS_MAX_SERIES): records of new ones are refused (counted: meshsight_mesh_series_refused_total)`
              )
            }
          }
          yield* Metric.update(meshSeries, registry.size())
        })
        yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(HOUSEKEEPING_MS), housekeeping)))

        if (config.remoteWriteUrls.length > 0) {
          const headers = remoteWriteHeaders(config)
          const endpoints = config.remoteWriteUrls.map((url) =>
            makeEndpoint(
              {
                url,
                series: "istio",
                headers,
                timeoutMs: config.remoteWriteTimeoutMs,
                maxBackoffMs: Math.min(30_000, Math.max(1_000, 2 * config.remoteWriteIntervalMs))
              },
              config.remoteWriteQueueSamples
            )
          )
          const tick = Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            const gauges = proxyGauges(proxies, now, idleMs, extraPairs)
            const batches = snapshotBatches(registry.series(), now, config.remoteWriteIntervalMs, registry.lastEvictionMs(), gauges)
            for (const e of endpoints) yield* e.enqueue(batches)
          })
          // At shutdown (finalizers run in reverse: after the fibers below have stopped), one last snapshot, so the
          // TSDB gets the final totals; bounded by the request timeout.
          yield* Effect.addFinalizer(() =>
            tick.pipe(
              Effect.andThen(Effect.forEach(endpoints, (e) => e.sendQueuedOnce, { concurrency: "unbounded", discard: true })),
              Effect.timeout(config.remoteWriteTimeoutMs),
              Effect.catch(() => Effect.logWarning("remote write at shutdown did not finish within MESHSIGHT_REMOTE_WRITE_TIMEOUT_MS"))
            )
          )
          // Snapshots and senders are fibers of their own: a slow or absent TSDB only grows the queues.
          yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(config.remoteWriteIntervalMs), tick)))
          const idlePollMs = Math.min(250, config.remoteWriteIntervalMs / 4)
          for (const e of endpoints) yield* Effect.forkScoped(e.sendLoop(idlePollMs))
          yield* Effect.logInfo(
            `remote write every ${config.remoteWriteIntervalMs} ms to ${endpoints.map((e) => e.name).join(", ")} (meshsight_replica="${config.replica}")`
          )
        }

        return {
          enabled: true,
          record: (metrics, nowMs) => {
            if (metrics.length > 0) registry.record(metrics, nowMs)
          },
          series: registry.series,
          scrape: (openMetrics) =>
            Effect.map(Clock.currentTimeMillis, (now) =>
              renderExposition(registry.series(), openMetrics, proxyGauges(proxies, now, idleMs))
            )
        } satisfies MeshExportShape
      })
    )
  })
)
