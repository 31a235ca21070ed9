// A slow pipeline slows the sender: grpc-js reads nothing while a message is being handled, HTTP/2 flow control
// stops the client, and nothing piles up in between.
import { Worker } from "node:worker_threads"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { layerFromVariables } from "../../src/config.ts"
import { GrpcServer, GrpcServerLive } from "../../src/ingest/grpc-server.ts"
import type { MessageSource } from "../../src/ingest/message-source.ts"
import { AlsStreamHandler, MetricsStreamHandler } from "../../src/ingest/stream-handler.ts"

const PROCESS_MS = 20

let processed = 0
// Both pipeline stages (ALS, MetricsService) swapped for one that needs 20 ms of this thread per message.
const slow = {
  run: (messages: MessageSource) =>
    messages
      .consume(() => {
        for (const until = performance.now() + PROCESS_MS; performance.now() < until; );
        processed++
        return true
      })
      .pipe(Effect.orDie, Effect.as({ node: "test", messages: processed, entries: 0 }))
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
        // The client on a thread of its own: this one is held by the slow pipeline while it works.
        const writer = new Worker(new URL("../support/als-writer-thread.ts", import.meta.url), { workerData: { port, service } })
        let written = 0
        const stopped = new Promise<void>((resolve, reject) => {
          writer.on("message", (m: number | "stopped") => (m === "stopped" ? resolve() : (written = m)))
          writer.on("error", reject)
        })
        const started = performance.now()
        const samples: Array<number> = []
        for (let i = 0; i < 10; i++) {
          yield* Effect.sleep("200 millis")
          samples.push(written - processed)
        }
        writer.postMessage("stop")
        yield* Effect.promise(() => stopped)
        yield* Effect.promise(() => writer.terminate())
        const backlog = Math.max(...samples)
        console.log(
          `backpressure: ${written} messages written, ${processed} processed in ${((performance.now() - started) / 1000).toFixed(1)} s;` +
            ` largest backlog ${backlog} (${(backlog * 64) / 1024} MiB)`
        )
        // Without backpressure the client would push hundreds of MiB a second over loopback; with it, the backlog
        // is what the grpc-js buffers and the HTTP/2 windows hold.
        expect(processed).toBeGreaterThan(20)
        expect(backlog).toBeLessThan(160)
        expect(written).toBeLessThan(processed + 160)
      }).pipe(Effect.provide(server))
  )
})
