// Decode-only rates on core 0, in its own process: protobufjs with Envoy's official protos (the standard
// library's limit) and meshsight's own decoder, on the same messages: whole, and only what the metrics read (as
// meshsight decodes with its defaults: mx-mesh, which reads no addresses, and no error logs). Prints
// {"protobufjs", "meshsight", "forMetrics"} entries/s.
// Usage: node bench/decode.ts WORKLOAD ROUNDS
import { alsDecoder, decodeAlsMessage } from "../src/protocol/als-codec.ts"
import { StreamAccessLogsMessage } from "../sim/envoy-protos.ts"
import { decodeWorkload, ENTRIES_PER_MESSAGE, generate } from "./workload.ts"

const [workloadArg, roundsArg] = process.argv.slice(2)
const messages = generate(decodeWorkload(workloadArg)).flatMap((s) => s.messages)
const rounds = Number(roundsArg)

const rate = (decode: (m: Uint8Array) => unknown) => {
  for (const m of messages) decode(m) // warm-up: let the JIT see every shape first
  const started = process.hrtime.bigint()
  for (let r = 0; r < rounds; r++) for (const m of messages) decode(m)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  return (rounds * messages.length * ENTRIES_PER_MESSAGE) / seconds
}

console.log(
  JSON.stringify({
    protobufjs: rate((m) => StreamAccessLogsMessage.decode(m)),
    meshsight: rate(decodeAlsMessage),
    forMetrics: rate(alsDecoder({ logDetail: false, addresses: false, filterState: true }))
  })
)
