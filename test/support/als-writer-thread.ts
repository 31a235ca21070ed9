// A client on a thread of its own that writes 64 KiB messages to meshsight as fast as the transport lets it, and
// posts its count after each write; a message from the test stops it. For the backpressure test, whose server
// handles each message synchronously (as meshsight's pipelines do) and so holds its own thread while it works.
import { parentPort, workerData } from "node:worker_threads"
import { openAlsStream } from "./als-client.ts"

const { port, service } = workerData as { port: number; service: "als" | "metrics" }
const stream = openAlsStream(port, "v3", { service })
const message = new Uint8Array(64 * 1024)
let stop = false
parentPort!.once("message", () => (stop = true))
let written = 0
while (!stop) {
  await stream.write(message)
  parentPort!.postMessage(++written)
  // Let the stop message in between writes, as any real client's timers and I/O run.
  await new Promise((resolve) => setImmediate(resolve))
}
stream.cancel()
stream.close()
parentPort!.postMessage("stopped")
