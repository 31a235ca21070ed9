// A stream's messages for a pipeline under test, taken as the gRPC server hands them over (src/ingest/message-source.ts).
import { Readable } from "node:stream"
import { Effect } from "effect"
import { type MessageSource, readableSource } from "../../src/ingest/message-source.ts"

/** The messages through a Node Readable, as a grpc-js call delivers them. */
export const messagesOf = (messages: Iterable<Uint8Array>): MessageSource => readableSource(Readable.from(messages))

/** Each message after its effect (`TestClock.adjust`: virtual time passing between a proxy's flushes). */
export const messagesAfter = (steps: ReadonlyArray<Effect.Effect<Uint8Array>>): MessageSource => ({
  consume: (onMessage) =>
    Effect.gen(function* () {
      for (const step of steps) if (!onMessage(yield* step)) return
    })
})
