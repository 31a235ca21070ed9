// One Envoy MetricsService stream, start to end: decode → identify (the node's metadata, mx-mesh naming) →
// aggregate and store (ProxyMetricStore), a whole message at a time. The stream's first message must carry the
// identifier; a stream whose node names no service or instance is read to its end but contributes nothing.
import { Clock, Context, Effect, Layer, Metric, Stream } from "effect"
import { AppConfig } from "../config.ts"
import type { MetricsMessage } from "../domain/metric-family.ts"
import { identityFromMetadata, mxNaming } from "../identity/mx-mesh/mx-mesh-analyzer.ts"
import { decodeMetricsMessage } from "../protocol/metrics-codec.ts"
import { WireError } from "../util/wire-reader.ts"
import { type ProxyIdentity, ProxyMetricStore } from "../proxy-metrics/proxy-metric-store.ts"
import { metricFamiliesReceived, metricsMessagesReceived, metricsSkipped, proxyInstancesStored } from "../telemetry.ts"
import { printable } from "../log-text.ts"
import type { AlsPipelineShape } from "./als-pipeline.ts"
import { type StreamBroken, StreamRejected } from "../ingest/stream-errors.ts"

/** The same shape as the ALS pipeline: the gRPC server runs both kinds of stream alike. */
export class MetricsPipeline extends Context.Service<MetricsPipeline, AlsPipelineShape>()("meshsight/MetricsPipeline") {}

interface StreamState {
  nodeId: string | undefined
  /** null: the node names no service or instance. */
  identity: ProxyIdentity | null
  messages: number
  families: number
  skippedFamilies: number
}

interface Tally {
  messages: number
  families: number
  familyDecode: number
  nonFinite: number
  unidentified: number
  instanceLimit: number
  clusterLimit: number
  unnamedCluster: number
  warnings: Array<string>
}

const newTally = (): Tally => ({
  messages: 0,
  families: 0,
  familyDecode: 0,
  nonFinite: 0,
  unidentified: 0,
  instanceLimit: 0,
  clusterLimit: 0,
  unnamedCluster: 0,
  warnings: []
})

const skipped = (reason: string) => Metric.withAttributes(metricsSkipped, { reason })
const COUNTERS: ReadonlyArray<readonly [Metric.Metric<number, unknown>, (t: Tally) => number]> = [
  [metricsMessagesReceived, (t) => t.messages],
  [metricFamiliesReceived, (t) => t.families],
  [skipped("family_decode"), (t) => t.familyDecode],
  [skipped("non_finite"), (t) => t.nonFinite],
  [skipped("unidentified_stream"), (t) => t.unidentified],
  [skipped("instance_limit"), (t) => t.instanceLimit],
  [skipped("cluster_limit"), (t) => t.clusterLimit],
  [skipped("unnamed_cluster"), (t) => t.unnamedCluster]
]

export const MetricsPipelineLive = Layer.effect(
  MetricsPipeline,
  Effect.gen(function*() {
    const config = yield* AppConfig
    const store = yield* ProxyMetricStore
    // The proxy's node is named as mx-mesh names it (keys in any case, `-` for a missing field).
    const naming = mxNaming(config.mxServiceNameRule, config.mxInstanceNameRule)
    const context = yield* Effect.context<never>()

    const handle = (state: StreamState, bytes: Uint8Array, nowMs: number, tally: Tally, peer: string) => {
      let message: MetricsMessage
      try {
        message = decodeMetricsMessage(bytes)
      } catch (e) {
        if (!(e instanceof WireError)) throw e
        return new StreamRejected({
          reason: "malformed_message",
          detail: `message ${state.messages + 1} is not a StreamMetricsMessage: ${e.message}`
        })
      }
      state.messages++
      tally.messages++
      if (state.nodeId === undefined) {
        if (message.identifier === undefined) {
          return new StreamRejected({
            reason: "missing_identifier",
            detail: "the first message of a stream must carry the identifier (node)"
          })
        }
        const node = message.identifier.node
        state.nodeId = node.id
        state.identity = identityFromMetadata(node.metadata, naming) ?? null
        if (state.identity === null) {
          tally.unidentified++
          tally.warnings.push(
            `MetricsService stream from ${node.id || "(no node id)"} (${peer}): its node metadata names no service or instance` +
              " (mx-mesh naming rules); its metrics are left out (meshsight_metrics_skipped_total{reason=unidentified_stream})"
          )
        }
      }
      state.families += message.families.length
      tally.families += message.families.length
      if (message.rejected.length > 0) {
        tally.familyDecode += message.rejected.length
        if (state.skippedFamilies === 0) {
          const first = message.rejected[0]
          tally.warnings.push(
            `skipping unreadable metric families from ${state.nodeId} (${peer}): family ${first.index} of message ${state.messages}: ` +
              `${first.reason} (further skips on this stream are only counted: meshsight_metrics_skipped_total{reason=family_decode})`
          )
        }
        state.skippedFamilies += message.rejected.length
      }
      if (state.identity === null || message.families.length === 0) return undefined
      const outcome = store.record(state.identity, message.families, nowMs)
      tally.nonFinite += outcome.nonFinite
      if (outcome.instanceRefused) tally.instanceLimit++
      tally.clusterLimit += outcome.clustersRefused
      tally.unnamedCluster += outcome.clustersUnnamed
      return undefined
    }

    const run = (messages: Stream.Stream<Uint8Array, StreamBroken>, peer: string) =>
      Effect.gen(function*() {
        const state: StreamState = { nodeId: undefined, identity: null, messages: 0, families: 0, skippedFamilies: 0 }
        yield* Stream.runForEachArray(messages, (batch) =>
          Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            const tally = newTally()
            let rejection: StreamRejected | undefined
            for (let i = 0; i < batch.length && rejection === undefined; i++) {
              rejection = handle(state, batch[i], now, tally, peer)
            }
            for (const [metric, count] of COUNTERS) {
              const n = count(tally)
              if (n !== 0) metric.updateUnsafe(n, context)
            }
            proxyInstancesStored.updateUnsafe(store.instanceCount(), context)
            for (const warning of tally.warnings) yield* Effect.logWarning(printable(warning))
            if (rejection !== undefined) return yield* rejection
          }))
        if (state.nodeId === undefined) {
          return yield* new StreamRejected({
            reason: "empty_stream",
            detail: "the stream ended before its first message (no identifier)"
          })
        }
        return { node: state.nodeId, messages: state.messages, entries: state.families }
      })

    return { run }
  })
)
