// One Envoy MetricsService stream, start to end: decode → identify (the node's metadata, mx-mesh naming) →
// aggregate and store (ProxyMetricStore), a whole message at a time. The stream's first message must carry the
// identifier; a stream whose node names no service or instance is read to its end but contributes nothing.
import { Effect, Layer } from "effect"
import type { MetricsMessage } from "../domain/metric-family.ts"
import { identityFromMetadata, namingConfig } from "../identity/mx-mesh/mx-mesh-analyzer.ts"
import { MetricsStreamHandler } from "../ingest/stream-handler.ts"
import { decodeMetricsMessage } from "../protocol/metrics-codec.ts"
import { type ProxyIdentity, ProxyMetricStore } from "../proxy-metrics/proxy-metric-store.ts"
import {
  metricFamiliesReceived,
  metricsMessagesReceived,
  metricsSkipped,
  proxyInstancesStored,
  type TallyCounter,
  tallyReporter
} from "../telemetry.ts"
import { type MessageTally, streamRunner } from "./stream-runner.ts"
import { MemoryBudget } from "../memory/budget.ts"

interface StreamState {
  readonly nodeId: string
  /** null: the node names no service or instance. */
  readonly identity: ProxyIdentity | null
  skippedFamilies: number
}

interface Tally extends MessageTally {
  families: number
  familyDecode: number
  nonFinite: number
  unidentified: number
  instanceLimit: number
  clusterLimit: number
  unnamedCluster: number
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

const COUNTERS: ReadonlyArray<TallyCounter<Tally>> = [
  [metricsMessagesReceived, undefined, (t) => t.messages],
  [metricFamiliesReceived, undefined, (t) => t.families],
  [metricsSkipped, { reason: "family_decode" }, (t) => t.familyDecode],
  [metricsSkipped, { reason: "non_finite" }, (t) => t.nonFinite],
  [metricsSkipped, { reason: "unidentified_stream" }, (t) => t.unidentified],
  [metricsSkipped, { reason: "instance_limit" }, (t) => t.instanceLimit],
  [metricsSkipped, { reason: "cluster_limit" }, (t) => t.clusterLimit],
  [metricsSkipped, { reason: "unnamed_cluster" }, (t) => t.unnamedCluster]
]

export const MetricsPipelineLive = Layer.effect(
  MetricsStreamHandler,
  Effect.gen(function* () {
    const store = yield* ProxyMetricStore
    const budget = yield* MemoryBudget
    // The proxy's node is named as mx-mesh names it (keys in any case, `-` for a missing field).
    const naming = yield* namingConfig
    const context = yield* Effect.context<never>()
    const reportCounts = tallyReporter(context, COUNTERS)

    return streamRunner<MetricsMessage, StreamState, Tally>({
      budget,
      messageName: "StreamMetricsMessage",
      identifierHolds: "node",
      decode: decodeMetricsMessage,
      identifierOf: (message) => message.identifier,
      newTally,
      report: (tally) => {
        reportCounts(tally)
        proxyInstancesStored.updateUnsafe(store.instanceCount(), context)
      },
      open: (node, peer, tally) => {
        const identity = identityFromMetadata(node.metadata, naming) ?? null
        if (identity === null) {
          tally.unidentified++
          tally.warnings.push(
            `MetricsService stream from ${node.id || "(no node id)"} (${peer}): its node metadata names no service or instance` +
              " (mx-mesh naming rules); its metrics are left out (meshsight_metrics_skipped_total{reason=unidentified_stream})"
          )
        }
        return { nodeId: node.id, identity, skippedFamilies: 0 }
      },
      handle: (state, message, messageNumber, nowMs, tally, peer) => {
        tally.families += message.families.length
        if (message.rejected.length > 0) {
          tally.familyDecode += message.rejected.length
          if (state.skippedFamilies === 0) {
            const first = message.rejected[0]
            tally.warnings.push(
              `skipping unreadable metric families from ${state.nodeId} (${peer}): family ${first.index} of message ${messageNumber}: ` +
                `${first.reason} (further skips on this stream are only counted: meshsight_metrics_skipped_total{reason=family_decode})`
            )
          }
          state.skippedFamilies += message.rejected.length
        }
        if (state.identity === null || message.families.length === 0) return message.families.length
        const outcome = store.record(state.identity, message.families, nowMs)
        tally.nonFinite += outcome.nonFinite
        if (outcome.instanceRefused) tally.instanceLimit++
        tally.clusterLimit += outcome.clustersRefused
        tally.unnamedCluster += outcome.clustersUnnamed
        return message.families.length
      }
    })
  })
)
