// What every per-stream pipeline does the same way, whatever the stream carries: decode each message whole, take
// the node from the first message's identifier (Envoy sends it once per stream; later messages omit it), work
// through each message synchronously as it arrives, then report its tallies and warnings.
import { Clock, Effect, Metric } from "effect"
import type { NodeInfo } from "../domain/access-log.ts"
import type { StreamSummary } from "../ingest/stream-handler.ts"
import type { MessageSource } from "../ingest/message-source.ts"
import { StreamRefused, StreamRejected } from "../ingest/stream-errors.ts"
import { printable } from "../log-text.ts"
import { jsonWeight, type MemoryBudgetShape } from "../memory/budget.ts"
import { WireError } from "../util/wire-reader.ts"

/** What a message's handling collects before it is reported: counts of the pipeline's own, and log lines. */
export interface MessageTally {
  messages: number
  readonly warnings: Array<string>
}

export interface StreamWork<M, S, T extends MessageTally> {
  /** The message's proto name, for the rejection of a message that does not decode. */
  readonly messageName: string
  /** What the first message's identifier must carry, for the rejection of a stream that omits it. */
  readonly identifierHolds: string
  /** Decodes one whole message; throws WireError on bytes that are not one. */
  readonly decode: (bytes: Uint8Array) => M
  readonly identifierOf: (message: M) => { readonly node: NodeInfo } | undefined
  /** The stream's state, from the node of its first message. */
  readonly open: (node: NodeInfo, peer: string, tally: T) => S
  readonly newTally: () => T
  /** One message's work, synchronous; returns how many items (entries, families) the message held. */
  readonly handle: (stream: S, message: M, messageNumber: number, nowMs: number, tally: T, peer: string) => number
  /** Adds a message's tallies to the counters, synchronously. */
  readonly report: (tally: T) => void
  /** Counts messages that do not decode, if this stream kind has such a counter. */
  readonly decodeFailures?: Metric.Metric<number, unknown>
  /** Each stream's node counts in its "streams" part while the stream lasts; a full budget refuses new streams. */
  readonly budget: MemoryBudgetShape
}

/**
 * The most a stream's node (id, cluster, metadata) may be estimated to retain: Istio's node metadata is a few KiB
 * (labels, annotations, platform metadata); 256 KiB is generous, and 60 streams with 15 MiB ids are refused.
 */
export const MAX_NODE_BYTES = 256 * 1024
/** A stream's own objects (state, resolver, fiber, grpc-js call), estimated. */
const STREAM_BYTES = 4096

interface RunState<S> {
  nodeId: string | undefined
  /** What the stream's node is estimated to retain, counted in the budget until the stream ends. */
  retainedBytes: number
  stream: S | undefined
  messages: number
  items: number
}

/** The stream handler for one kind of stream. */
export const streamRunner = <M, S, T extends MessageTally>(work: StreamWork<M, S, T>) => {
  const streamMeter = work.budget.meter("streams")

  /** The node's estimated size, counted in the budget; or why the stream is refused. */
  const admit = (state: RunState<S>, node: NodeInfo): StreamRefused | undefined => {
    const retained = STREAM_BYTES + 2 * (node.id.length + node.cluster.length) + jsonWeight(node.metadata, MAX_NODE_BYTES)
    if (retained > MAX_NODE_BYTES) {
      return new StreamRefused({
        reason: "identifier_too_large",
        detail: `the node (id, cluster, metadata) would keep about ${retained} bytes; meshsight keeps at most ${MAX_NODE_BYTES} per stream`
      })
    }
    if (work.budget.full()) {
      return new StreamRefused({
        reason: "memory",
        detail: "meshsight's memory budget is spent (MESHSIGHT_MEMORY_LIMIT_MB): reconnect later or to another replica"
      })
    }
    state.retainedBytes = retained
    streamMeter.bytes += retained
    return undefined
  }

  /** Handles one message; returns the rejection that ends the stream, if any. */
  const handle = (state: RunState<S>, bytes: Uint8Array, nowMs: number, tally: T, peer: string) => {
    let message: M
    try {
      message = work.decode(bytes)
    } catch (e) {
      if (!(e instanceof WireError)) throw e
      return new StreamRejected({
        reason: "malformed_message",
        detail: `message ${state.messages + 1} is not a ${work.messageName}: ${e.message}`
      })
    }
    state.messages++
    tally.messages++
    if (state.nodeId === undefined) {
      const identifier = work.identifierOf(message)
      if (identifier === undefined) {
        return new StreamRejected({
          reason: "missing_identifier",
          detail: `the first message of a stream must carry the identifier (${work.identifierHolds})`
        })
      }
      const refusal = admit(state, identifier.node)
      if (refusal !== undefined) return refusal
      state.nodeId = identifier.node.id
      state.stream = work.open(identifier.node, peer, tally)
    }
    state.items += work.handle(state.stream!, message, state.messages, nowMs, tally, peer)
    return undefined
  }

  const run = (source: MessageSource, peer: string) =>
    Effect.gen(function* () {
      const clock = yield* Clock.Clock
      // Messages are handled synchronously as they arrive (./message-source.ts), so warnings are logged from there.
      const log = Effect.runForkWith(yield* Effect.context<never>())
      const state: RunState<S> = { nodeId: undefined, retainedBytes: 0, stream: undefined, messages: 0, items: 0 }
      let rejection: StreamRejected | StreamRefused | undefined
      yield* source
        .consume((bytes) => {
          const tally = work.newTally()
          // Nothing downstream keeps a view of the message's bytes once it is handled (caches copy what they keep).
          rejection = handle(state, bytes, clock.currentTimeMillisUnsafe(), tally, peer)
          work.report(tally)
          // A warning quotes what the proxy sent (its node id, the codec's reason): escaped, one line each.
          for (const warning of tally.warnings) log(Effect.logWarning(printable(warning)))
          return rejection === undefined
        })
        .pipe(
          // However the stream ends, its node no longer counts against the budget.
          Effect.ensuring(Effect.sync(() => (streamMeter.bytes -= state.retainedBytes)))
        )
      if (rejection !== undefined) return yield* rejection
      if (state.nodeId === undefined) {
        return yield* new StreamRejected({
          reason: "empty_stream",
          detail: "the stream ended before its first message (no identifier)"
        })
      }
      return { node: state.nodeId, messages: state.messages, entries: state.items } satisfies StreamSummary
    }).pipe(
      Effect.tapError((e) =>
        work.decodeFailures !== undefined && e._tag === "StreamRejected" && e.reason === "malformed_message"
          ? Metric.update(work.decodeFailures, 1)
          : Effect.void
      )
    )

  return { run }
}
