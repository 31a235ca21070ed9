// A client stream's messages, handed one at a time to a synchronous consumer in the very event that delivers each
// (grpc-js's 'data'), instead of through an Effect Stream. NodeStream.fromReadable woke the stream's fiber once per
// message ('readable', a latch, the pull and batch effects): ~220 ns of CPU per ALS entry at 10 streams, 7 % of the
// whole (docs/performance.md, round eight). Backpressure is unchanged: the event loop reads no more of any
// connection while a message is being handled, and HTTP/2 flow control bounds what waits unread.
import type { Readable } from "node:stream"
import { Effect } from "effect"
import { releaseMessage } from "./message-memory.ts"
import { StreamBroken } from "./stream-errors.ts"

export interface MessageSource {
  /**
   * Hands each message to `onMessage`, in order, as it arrives, until the source ends (succeeds), breaks
   * (StreamBroken), or `onMessage` returns false (succeeds at once, the source closed: the consumer is done with
   * it). `onMessage` runs synchronously and must not throw; if it does, the effect dies with that defect. It must
   * keep no view of `bytes` once it returns: a source may free their memory then (./message-memory.ts).
   * Interrupting the effect closes the source.
   */
  readonly consume: (onMessage: (bytes: Uint8Array) => boolean) => Effect.Effect<void, StreamBroken>
}

const ignore = () => {}

const PREMATURE_CLOSE = "the stream was closed before it ended"

/**
 * The messages of an object-mode Readable (a grpc-js call). `afterEnd` runs once the readable has ended by itself
 * (not when the consumer stopped): for what only shows after the end, such as a reset stream. A readable closed
 * early is destroyed, as NodeStream's `closeOnDone` did; errors it emits once the consumer is done are ignored.
 */
export const readableSource = (readable: Readable, afterEnd: Effect.Effect<void, StreamBroken> = Effect.void): MessageSource => ({
  consume: (onMessage) =>
    Effect.callback<boolean, StreamBroken>((resume) => {
      // An error emitted once the consumer is done (a client that resets the stream after its end, or the destroy
      // below) must still find a listener: an unheard 'error' event would end the process.
      const detach = () => {
        readable.off("data", onData)
        readable.off("end", onEnd)
        readable.off("error", onError)
        readable.off("close", onClose)
        readable.on("error", ignore)
      }
      const close = () => {
        detach()
        if (!readable.destroyed) readable.destroy()
      }
      function onData(bytes: Uint8Array) {
        let goOn: boolean
        try {
          goOn = onMessage(bytes)
        } catch (defect) {
          close()
          return resume(Effect.die(defect))
        } finally {
          // Handled: grpc-js framed it into memory of its own, given back now rather than at V8's next collection.
          releaseMessage(bytes)
        }
        if (!goOn) {
          close()
          resume(Effect.succeed(false))
        }
      }
      function onEnd() {
        detach()
        resume(Effect.succeed(true))
      }
      function onError(cause: unknown) {
        detach()
        resume(Effect.fail(new StreamBroken({ detail: cause instanceof Error ? cause.message : String(cause) })))
      }
      // Destroyed without an error: neither 'end' nor 'error' comes, only 'close'.
      function onClose() {
        detach()
        resume(Effect.fail(new StreamBroken({ detail: PREMATURE_CLOSE })))
      }
      if (readable.readableEnded) return resume(Effect.succeed(true))
      if (readable.destroyed) return resume(Effect.fail(new StreamBroken({ detail: PREMATURE_CLOSE })))
      readable.on("data", onData)
      readable.once("end", onEnd)
      readable.once("error", onError)
      readable.once("close", onClose)
      return Effect.sync(close)
    }).pipe(Effect.flatMap((ended) => (ended ? afterEnd : Effect.void)))
})
