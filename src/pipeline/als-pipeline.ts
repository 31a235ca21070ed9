// One ALS stream, start to end: decode → identify → analyze → aggregate, a whole message at a time. The stream's
// first message must carry the identifier (Envoy sends the node once per stream; later messages omit it).
import { Clock, Context, Effect, Layer, Metric, Stream } from "effect"
import { Aggregator } from "../aggregation/aggregator.ts"
import { type AnalysisMisses, analyze } from "../analysis/analyze.ts"
import { EndpointNaming } from "../analysis/endpoint-names.ts"
import type { AlsMessage } from "../domain/access-log.ts"
import { emptySides, type EntrySides } from "../domain/identity.ts"
import { parseNode, proxyRole, type ReportingNode } from "../domain/node.ts"
import { IdentityResolver, type StreamResolver } from "../identity/identity-resolver.ts"
import { printable } from "../log-text.ts"
import { decodeAlsMessage } from "../protocol/als-codec.ts"
import { WireError } from "../util/wire-reader.ts"
import {
  entriesReceived,
  entriesSkipped,
  entryDecodeFailures,
  identityMisses,
  messageDecodeFailures,
  messagesReceived,
  recordsDropped,
  recordsProduced
} from "../telemetry.ts"
import { type StreamBroken, StreamRejected } from "../ingest/stream-errors.ts"

export interface AlsPipelineShape {
  /** Consumes one stream of raw StreamAccessLogsMessage bytes; `peer` names the client in logs. */
  readonly run: (
    messages: Stream.Stream<Uint8Array, StreamBroken>,
    peer: string
  ) => Effect.Effect<StreamSummary, StreamRejected | StreamBroken>
}

export interface StreamSummary {
  readonly node: string
  readonly messages: number
  readonly entries: number
}

export class AlsPipeline extends Context.Service<AlsPipeline, AlsPipelineShape>()("meshsight/AlsPipeline") {}

interface StreamState {
  /** From the first message's identifier. */
  nodeId: string | undefined
  /** Undefined while there is no identifier yet, and for a node whose id names no proxy role (entries skipped). */
  node: ReportingNode | undefined
  resolver: StreamResolver | undefined
  messages: number
  entries: number
  skippedEntries: number
}

/** Per-batch tallies, reported to the counters once per batch of messages. */
interface Tally {
  messages: number
  http: number
  tcp: number
  rejected: number
  unknownRole: number
  client: number
  server: number
  tooOld: number
  future: number
  misses: AnalysisMisses
  warnings: Array<string>
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
  misses: { local: 0, source: 0, destination: 0 },
  warnings: []
})

// The counters with their attributes, built once: `withAttributes` per batch showed in profiles.
const httpEntries = Metric.withAttributes(entriesReceived, { kind: "http" })
const tcpEntries = Metric.withAttributes(entriesReceived, { kind: "tcp" })
const clientRecords = Metric.withAttributes(recordsProduced, { detect_point: "client" })
const serverRecords = Metric.withAttributes(recordsProduced, { detect_point: "server" })
const tooOldRecords = Metric.withAttributes(recordsDropped, { reason: "too_old" })
const futureRecords = Metric.withAttributes(recordsDropped, { reason: "future" })
const unknownRoleEntries = Metric.withAttributes(entriesSkipped, { reason: "unknown_proxy_role" })
const localMisses = Metric.withAttributes(identityMisses, { side: "local" })
const sourceMisses = Metric.withAttributes(identityMisses, { side: "source" })
const destinationMisses = Metric.withAttributes(identityMisses, { side: "destination" })

const COUNTERS: ReadonlyArray<readonly [Metric.Metric<number, unknown>, (t: Tally) => number]> = [
  [messagesReceived, (t) => t.messages],
  [httpEntries, (t) => t.http],
  [tcpEntries, (t) => t.tcp],
  [entryDecodeFailures, (t) => t.rejected],
  [unknownRoleEntries, (t) => t.unknownRole],
  [clientRecords, (t) => t.client],
  [serverRecords, (t) => t.server],
  [tooOldRecords, (t) => t.tooOld],
  [futureRecords, (t) => t.future],
  [localMisses, (t) => t.misses.local],
  [sourceMisses, (t) => t.misses.source],
  [destinationMisses, (t) => t.misses.destination]
]

/** Adds a batch's tallies to the counters, synchronously: eleven metric effects per batch showed in profiles. */
const report = (t: Tally, context: Context.Context<never>) => {
  for (const [metric, count] of COUNTERS) {
    const n = count(t)
    if (n !== 0) metric.updateUnsafe(n, context)
  }
}

/** A node id for a log line: quoted and escaped (it is client input), and cut short if long. */
const quoteNodeId = (id: string) => JSON.stringify(id.length > 200 ? `${id.slice(0, 200)}…` : id)

export const AlsPipelineLive = Layer.effect(
  AlsPipeline,
  Effect.gen(function*() {
    const identity = yield* IdentityResolver
    const aggregator = yield* Aggregator
    const endpointNames = yield* EndpointNaming
    // The counters are updated synchronously from the batch loop, with the context captured here.
    const context = yield* Effect.context<never>()

    /** Handles one message synchronously; returns the rejection that ends the stream, if any. */
    const handle = (state: StreamState, bytes: Uint8Array, nowMs: number, tally: Tally, peer: string) => {
      let message: AlsMessage
      try {
        message = decodeAlsMessage(bytes)
      } catch (e) {
        if (!(e instanceof WireError)) throw e
        return new StreamRejected({
          reason: "malformed_message",
          detail: `message ${state.messages + 1} is not a StreamAccessLogsMessage: ${e.message}`
        })
      }
      state.messages++
      tally.messages++
      if (state.nodeId === undefined) {
        if (message.identifier === undefined) {
          return new StreamRejected({
            reason: "missing_identifier",
            detail: "the first message of a stream must carry the identifier (node and log name)"
          })
        }
        const node = message.identifier.node
        state.nodeId = node.id
        if (proxyRole(node.id) === undefined) {
          // Only Istio's sidecar~, router~ and waypoint~ proxies say which side an entry describes; SkyWalking gives
          // any other node role NONE, which its k8s-mesh skips. The stream stays open; its entries are counted and
          // skipped (for every analyzer, mx-mesh too).
          tally.warnings.push(
            `skipping the entries of node ${quoteNodeId(node.id)} (${peer}): its id does not start with sidecar~, router~ or waypoint~` +
              ' (counted: meshsight_als_entries_skipped_total{reason="unknown_proxy_role"})'
          )
        } else {
          state.node = parseNode(node)
          state.resolver = identity.forStream(state.node)
        }
      }
      const entries = message.entries
      state.entries += entries.length
      if (entries.length > 0) {
        if (entries[0].kind === "http") tally.http += entries.length
        else tally.tcp += entries.length
      }
      if (message.rejected.length > 0) {
        tally.rejected += message.rejected.length
        if (state.skippedEntries === 0) {
          const first = message.rejected[0]
          tally.warnings.push(
            `skipping undecodable entries from ${quoteNodeId(state.nodeId)} (${peer}): entry ${first.index} of message ${state.messages}: ${first.reason}` +
              " (further skips on this stream are only counted: meshsight_als_entry_decode_failures_total)"
          )
        }
        state.skippedEntries += message.rejected.length
      }
      if (entries.length === 0) return undefined
      if (state.node === undefined) {
        tally.unknownRole += entries.length
        return undefined
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
      tally.tooOld += outcome.tooOld
      tally.future += outcome.future
      return undefined
    }

    const run = (messages: Stream.Stream<Uint8Array, StreamBroken>, peer: string) =>
      Effect.gen(function*() {
        const state: StreamState = { nodeId: undefined, node: undefined, resolver: undefined, messages: 0, entries: 0, skippedEntries: 0 }
        yield* Stream.runForEachArray(messages, (batch) =>
          Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            const tally = newTally()
            let rejection: StreamRejected | undefined
            for (let i = 0; i < batch.length && rejection === undefined; i++) {
              rejection = handle(state, batch[i], now, tally, peer)
            }
            report(tally, context)
            // A warning quotes what the proxy sent (its node id, the codec's reason): escaped, one line each.
            for (const warning of tally.warnings) yield* Effect.logWarning(printable(warning))
            if (rejection !== undefined) return yield* rejection
          }))
        if (state.nodeId === undefined) {
          return yield* new StreamRejected({
            reason: "empty_stream",
            detail: "the stream ended before its first message (no identifier)"
          })
        }
        return { node: state.nodeId, messages: state.messages, entries: state.entries }
      }).pipe(
        Effect.tapError((e) =>
          e._tag === "StreamRejected" && e.reason === "malformed_message" ? Metric.update(messageDecodeFailures, 1) : Effect.void
        )
      )

    return { run }
  })
)
