// What workers and the primary tell each other over the cluster IPC channel (structured-clone serialization).
import type { MetricFamily } from "../domain/metric-family.ts"
import type { NewErrorLog } from "../error-logs/error-log-store.ts"
import type { ProxyIdentity } from "../proxy-metrics/proxy-metric-store.ts"
import type { EncodedBucket } from "./series-codec.ts"
import type { TelemetryDelta } from "./telemetry-relay.ts"

/** A worker's gRPC server is bound (sent once, at start). */
export interface Listening {
  readonly type: "listening"
  readonly port: number
  readonly alsPort: number
  readonly ready: boolean
}

/** One aggregator flush: everything the worker gathered since its previous one, in one message. */
export interface Flush {
  readonly type: "flush"
  readonly nowMs: number
  readonly buckets: ReadonlyArray<EncodedBucket>
  /** What the worker's aggregator limits did (see aggregation/aggregator.ts `drain`). */
  readonly refused: number
  readonly refusedForMemory: number
  readonly overflow: number
  readonly overflowed: ReadonlyArray<string>
  readonly telemetry: TelemetryDelta
  /** Error logs the worker kept (already rate-limited there), with the time each batch was collected. */
  readonly errorLogs: ReadonlyArray<readonly [nowMs: number, logs: ReadonlyArray<NewErrorLog>]>
  /** MetricsService messages' families from identified proxies, in arrival order. */
  readonly proxyMetrics: ReadonlyArray<readonly [nowMs: number, identity: ProxyIdentity, families: ReadonlyArray<MetricFamily>]>
  /** Whether the worker's identity analyzers can answer (k8s-mesh: synced). */
  readonly ready: boolean
}

export type FromWorker = Listening | Flush

export const isFromWorker = (m: unknown): m is FromWorker =>
  typeof m === "object" && m !== null && ((m as FromWorker).type === "listening" || (m as FromWorker).type === "flush")
