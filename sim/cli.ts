// `node sim/cli.ts --target 127.0.0.1:11800 --rate 20 --duration 60 --seed 1`: simulated bookinfo traffic into a
// running meshsight. Peers are logged as a mesh mid-upgrade does (most proxies Istio ≥ 1.24's Struct, details-v1
// and reviews-v2 older Istio's FlatBuffer); `--peers struct` or `--peers flatbuffer` makes every proxy log one form.
// Ctrl-C ends the streams cleanly.
import { parseArgs } from "node:util"
import { nonNegativeOption } from "./options.ts"
import { formatProgress } from "./progress.ts"
import { startSimulator } from "./simulator.ts"
import { bookinfo } from "./topology.ts"

const { values } = parseArgs({
  options: {
    target: { type: "string", default: "127.0.0.1:11800" },
    rate: { type: "string", default: "20" },
    duration: { type: "string" },
    seed: { type: "string", default: "1" },
    batch: { type: "string", default: "50" },
    instances: { type: "string", default: "2" },
    "extra-services": { type: "string", default: "0" },
    peers: { type: "string", default: "mixed" }
  }
})

const number = (name: string, raw: string) => nonNegativeOption("sim", name, raw)
const peers = values.peers
if (peers !== "mixed" && peers !== "struct" && peers !== "flatbuffer") {
  console.error(`sim: --peers must be mixed, struct or flatbuffer, got ${JSON.stringify(peers)}`)
  process.exit(2)
}

const simulator = startSimulator({
  target: values.target,
  rate: number("rate", values.rate),
  seed: number("seed", values.seed),
  entriesPerMessage: Math.max(1, number("batch", values.batch)),
  ...(peers === "mixed" ? {} : { peerFormat: peers }),
  ...(values.duration === undefined ? {} : { durationS: number("duration", values.duration) }),
  topology: bookinfo({
    instances: number("instances", values.instances),
    extraServices: number("extra-services", values["extra-services"])
  })
})
console.log(`sim: bookinfo traffic → ${values.target} at ${values.rate} requests/s`)
const report = setInterval(() => console.log(`sim: ${formatProgress(simulator.progress())}`), 5000)
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void simulator.stop())
const final = await simulator.done
clearInterval(report)
console.log(`sim: done: ${formatProgress(final)}`)
