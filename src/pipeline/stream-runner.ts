// What every per-stream pipeline does the same way, whatever the stream carries: decode each message whole, take
// the node from the first message's identifier (Envoy sends it once per stream; later messages omit it), work
// through a batch of messages synchronously, then report the batch's tallies and warnings once.
import { Clock, Effect, Metric, Stream } from "effect"
import type { NodeInfo } from "../domain/access-log.ts"
import type { StreamSummary } from "../ingest/stream-handler.ts"
import { type StreamBroken, StreamRejected } from "../ingest/stream-errors.ts"
import { printable } from "../log-text.ts"
import { WireError } from "../util/wire-reader.ts"

/** What a batch of messages collects before it is reported: counts of the pipeline's own, and log lines. */
export interface BatchTally {
  messages: number
  readonly warnings: Array<string>
}

export interface StreamWork<M, S, T extends BatchTally> {
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
  /** Adds a batch's tallies to the counters (synchronously: an effect per counter per batch showed in profiles). */
  readonly report: (tally: T) => void
  /** Counts messages that do not decode, if this stream kind has such a counter. */
  readonly decodeFailures?: Metric.Metric<number, unknown>
}

interface RunState<S> {
  nodeId: string | undefined
  stream: S | undefined
  messages: number
  items: number
}

/** The stream handler for one kind of stream. */
export const streamRunner = <M, S, T extends BatchTally>(work: StreamWork<M, S, T>) => {
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
      state.nodeId = identifier.node.id
      state.stream = work.open(identifier.node, peer, tally)
    }
    state.items += work.handle(state.stream!, message, state.messages, nowMs, tally, peer)
    return undefined
  }

  const run = (messages: Stream.Stream<Uint8Array, StreamBroken>, peer: string) =>
    Effect.gen(function*() {
      const state: RunState<S> = { nodeId: undefined, stream: undefined, messages: 0, items: 0 }
      yield* Stream.runForEachArray(messages, (batch) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const tally = work.newTally()
          let rejection: StreamRejected | undefined
          for (let i = 0; i < batch.length && rejection === undefined; i++) {
            rejection = handle(state, batch[i], now, tally, peer)
          }
          work.report(tally)
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
