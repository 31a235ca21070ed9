// The transport limit: a grpc-js server with meshsight's ALS method definitions that only counts the bytes it
// receives, with meshsight's HTTP/2 flow-control windows (`--default-windows`: Node's). Prints its port, then
// serves until killed; SIGUSR2 runs a full collection when node runs with --expose-gc.
import * as grpc from "@grpc/grpc-js"
import { widenFlowControlWindows } from "../src/ingest/grpc-tuning.ts"
import { accessLogService, EMPTY_RESPONSE } from "../src/ingest/service-definitions.ts"

let bytes = 0
const server = new grpc.Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024 })
if (!process.argv.includes("--default-windows")) widenFlowControlWindows(server)
server.addService(accessLogService("v3"), {
  StreamAccessLogs: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
    call.on("data", (b: Buffer) => (bytes += b.length))
    call.on("end", () => callback(null, EMPTY_RESPONSE))
  }
})
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err
  console.log(port)
})
// bench/connection-memory.ts measures it after a full collection (run with --expose-gc).
process.on("SIGUSR2", () => globalThis.gc?.())
process.on("SIGTERM", () => {
  console.error(`noop server: ${bytes} bytes received`)
  process.exit(0)
})
