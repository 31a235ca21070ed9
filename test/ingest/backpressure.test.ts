// A slow pipeline slows the sender: grpc-js stops reading while the stream's consumer is busy, HTTP/2 flow
// control stops the client, and nothing piles up in between.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { layerFromVariables } from "../../src/config.ts"
import { GrpcServer, GrpcServerLive } from "../../src/ingest/grpc-server.ts"
import { AlsStreamHandler, MetricsStreamHandler } from "../../src/ingest/stream-handler.ts"
import { openAlsStream } from "../support/als-client.ts"

const MESSAGE = new Uint8Array(64 * 1024)
const PROCESS_MS = 20

let processed = 0
// Both pipeline stages (ALS, MetricsService) swapped for one that needs 20 ms per message.
const slow = {
  run: (messages: Stream.Stream<Uint8Array, unknown>) =>
    Stream.runForEach(messages, () => Effect.sleep(PROCESS_MS).pipe(Effect.tap(() => Effect.sync(() => processed++)))).pipe(
      Effect.orDie,
      Effect.as({ node: "test", messages: processed, entries: 0 })
    )
}
const server = GrpcServerLive.pipe(
  Layer.provide([
    Layer.succeed(AlsStreamHandler, slow),
    Layer.succeed(MetricsStreamHandler, slow),
    layerFromVariables({ MESHSIGHT_GRPC_ADDRESS: "127.0.0.1:0" })
  ])
)

describe("backpressure", () => {
  it.live.each(["als", "metrics"] as const)(
    "%s: a slow consumer keeps the unprocessed backlog bounded while the client keeps trying to write",
    (service) =>
      Effect.gen(function* () {
        processed = 0
        const { port } = yield* GrpcServer
        const stream = openAlsStream(port, "v3", { service })
        let written = 0
        let stop = false
        const writer = (async () => {
          while (!stop) {
            await stream.write(MESSAGE)
            written++
            // Let timers run between writes, as any real client does.
            await new Promise((resolve) => setImmediate(resolve))
          }
        })()
        const samples: Array<number> = []
        for (let i = 0; i < 10; i++) {
          yield* Effect.sleep("200 millis")
          samples.push(written - processed)
        }
        stop = true
        stream.cancel()
        yield* Effect.promise(() => writer.catch(() => {}))
        stream.close()
        const backlog = Math.max(...samples)
        console.log(
          `backpressure: ${written} messages written, ${processed} processed in 2 s; largest backlog ${backlog} (${(backlog * 64) / 1024} MiB)`
        )
        // Without backpressure the client would push hundreds of MiB in 2 s over loopback; with it, the backlog
        // is what the grpc-js buffers and the HTTP/2 windows hold.
        expect(processed).toBeGreaterThan(20)
        expect(backlog).toBeLessThan(160)
        expect(written).toBeLessThan(processed + 160)
      }).pipe(Effect.provide(server))
  )
})
