// One ALS stream, start to end: decode → identify → analyze → aggregate, a whole message at a time
// (./stream-runner.ts does what every kind of stream shares).
import { Effect, Layer } from "effect"
import { Aggregator } from "../aggregation/aggregator.ts"
import { type AnalysisMisses, analyze } from "../analysis/analyze.ts"
import { EndpointNaming } from "../analysis/endpoint-names.ts"
import type { AlsMessage } from "../domain/access-log.ts"
import { emptySides, type EntrySides } from "../domain/identity.ts"
import { parseNode, proxyRole, type ReportingNode } from "../domain/node.ts"
import { ErrorLogs } from "../error-logs/error-logs.ts"
import { MeshExport } from "../export/mesh-export.ts"
import { IdentityResolver, type StreamResolver } from "../identity/identity-resolver.ts"
import { AlsStreamHandler } from "../ingest/stream-handler.ts"
import { MemoryBudget } from "../memory/budget.ts"
import { alsDecoder } from "../protocol/als-codec.ts"
import { takeTruncations } from "../util/bounded-string.ts"
import {
  entriesReceived,
  entriesSkipped,
  entryDecodeFailures,
  identityMisses,
  messageDecodeFailures,
  messagesReceived,
  recordsDropped,
  recordsProduced,
  stringsTruncated,
  type TallyCounter,
  tallyReporter
} from "../telemetry.ts"
import { type MessageTally, streamRunner } from "./stream-runner.ts"

interface StreamState {
  readonly nodeId: string
  /** Undefined for a node whose id names no proxy role (its entries are skipped). */
  readonly node: ReportingNode | undefined
  readonly resolver: StreamResolver | undefined
  skippedEntries: number
}

/** Per-message tallies, reported to the counters once the message is handled. */
interface Tally extends MessageTally {
  http: number
  tcp: number
  rejected: number
  unknownRole: number
  client: number
  server: number
  tooOld: number
  future: number
  truncated: number
  misses: AnalysisMisses
}

const newTally = (): Tally => ({
  messages: 0,
  http: 0,
  tcp: 0,
  rejected: 0,
  unknownRole: 0,
  client: 0,
  server: 0,
  tooOld: 0,
  future: 0,
  truncated: 0,
  misses: { local: 0, source: 0, destination: 0 },
  warnings: []
})

/** Each counter, its attributes and what it counts of a message's tally. */
const COUNTERS: ReadonlyArray<TallyCounter<Tally>> = [
  [messagesReceived, undefined, (t) => t.messages],
  [entriesReceived, { kind: "http" }, (t) => t.http],
  [entriesReceived, { kind: "tcp" }, (t) => t.tcp],
  [entryDecodeFailures, undefined, (t) => t.rejected],
  [entriesSkipped, { reason: "unknown_proxy_role" }, (t) => t.unknownRole],
  [recordsProduced, { detect_point: "client" }, (t) => t.client],
  [recordsProduced, { detect_point: "server" }, (t) => t.server],
  [recordsDropped, { reason: "too_old" }, (t) => t.tooOld],
  [recordsDropped, { reason: "future" }, (t) => t.future],
  [stringsTruncated, undefined, (t) => t.truncated],
  [identityMisses, { side: "local" }, (t) => t.misses.local],
  [identityMisses, { side: "source" }, (t) => t.misses.source],
  [identityMisses, { side: "destination" }, (t) => t.misses.destination]
]

/** A node id for a log line: quoted and escaped (it is client input), and cut short if long. */
const quoteNodeId = (id: string) => JSON.stringify(id.length > 200 ? `${id.slice(0, 200)}…` : id)

export const AlsPipelineLive = Layer.effect(
  AlsStreamHandler,
  Effect.gen(function* () {
    const identity = yield* IdentityResolver
    const aggregator = yield* Aggregator
    const endpointNames = yield* EndpointNaming
    const errorLogs = yield* ErrorLogs
    const meshExport = yield* MeshExport
    const budget = yield* MemoryBudget
    // The counters are updated synchronously as each message is handled, with the context captured here.
    const report = tallyReporter(yield* Effect.context<never>(), COUNTERS)

    return streamRunner<AlsMessage, StreamState, Tally>({
      messageName: "StreamAccessLogsMessage",
      identifierHolds: "node and log name",
      // Only what the analyzers, the metrics and the error logs read is decoded (src/protocol/field-choice.ts).
      decode: alsDecoder({
        logDetail: errorLogs.reads.logDetail,
        addresses: identity.reads.addresses || errorLogs.reads.addresses,
        filterState: identity.reads.filterState
      }),
      identifierOf: (message) => message.identifier,
      decodeFailures: messageDecodeFailures,
      newTally,
      budget,
      report: (tally) => {
        // Strings the decoder cut to their bound in this message (src/util/bounded-string.ts).
        tally.truncated = takeTruncations()
        report(tally)
      },
      open: (node, peer, tally) => {
        if (proxyRole(node.id) === undefined) {
          // Only Istio's sidecar~, router~ and waypoint~ proxies say which side an entry describes; SkyWalking gives
          // any other node role NONE, which its k8s-mesh skips. The stream stays open; its entries are counted and
          // skipped (for every analyzer, mx-mesh too).
          tally.warnings.push(
            `skipping the entries of node ${quoteNodeId(node.id)} (${peer}): its id does not start with sidecar~, router~ or waypoint~` +
              ' (counted: meshsight_als_entries_skipped_total{reason="unknown_proxy_role"})'
          )
          return { nodeId: node.id, node: undefined, resolver: undefined, skippedEntries: 0 }
        }
        const reporting = parseNode(node)
        return { nodeId: node.id, node: reporting, resolver: identity.forStream(reporting), skippedEntries: 0 }
      },
      handle: (state, message, messageNumber, nowMs, tally, peer) => {
        const entries = message.entries
        if (entries.length > 0) {
          if (entries[0].kind === "http") tally.http += entries.length
          else tally.tcp += entries.length
        }
        if (message.rejected.length > 0) {
          tally.rejected += message.rejected.length
          if (state.skippedEntries === 0) {
            const first = message.rejected[0]
            tally.warnings.push(
              `skipping undecodable entries from ${quoteNodeId(state.nodeId)} (${peer}): entry ${first.index} of message ${messageNumber}: ${first.reason}` +
                " (further skips on this stream are only counted: meshsight_als_entry_decode_failures_total)"
            )
          }
          state.skippedEntries += message.rejected.length
        }
        if (entries.length === 0) return 0
        if (state.node === undefined) {
          tally.unknownRole += entries.length
          return entries.length
        }
        const sides: Array<EntrySides> = new Array(entries.length)
        for (let i = 0; i < entries.length; i++) sides[i] = emptySides()
        state.resolver!.fill(entries, sides)
        const metrics = analyze(state.node, entries, sides, tally.misses, endpointNames)
        for (const m of metrics) {
          if (m.detectPoint === "client") tally.client++
          else tally.server++
        }
        const outcome = aggregator.record(metrics, nowMs)
        meshExport.record(metrics, nowMs)
        tally.tooOld += outcome.tooOld
        tally.future += outcome.future
        // The `persistence` analyzer: failed entries of identified workloads become error logs.
        errorLogs.collect(state.node, entries, sides, nowMs)
        return entries.length
      }
    })
  })
)
