// `node sim/cli.ts --target 127.0.0.1:11800 --rate 20 --duration 60 --seed 1`: simulated bookinfo traffic into a
// running meshsight. `--peers flatbuffer` logs peers as Istio < 1.24 did. Ctrl-C ends the streams cleanly.
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
    peers: { type: "string", default: "struct" }
  }
})

const number = (name: string, raw: string) => nonNegativeOption("sim", name, raw)
if (values.peers !== "struct" && values.peers !== "flatbuffer") {
  console.error(`sim: --peers must be struct or flatbuffer, got ${JSON.stringify(values.peers)}`)
  process.exit(2)
}

const simulator = startSimulator({
  target: values.target,
  rate: number("rate", values.rate),
  seed: number("seed", values.seed),
  entriesPerMessage: Math.max(1, number("batch", values.batch)),
  peerFormat: values.peers,
  ...(values.duration === undefined ? {} : { durationS: number("duration", values.duration) }),
  topology: bookinfo({ instances: number("instances", values.instances), extraServices: number("extra-services", values["extra-services"]) })
})
console.log(`sim: bookinfo traffic → ${values.target} at ${values.rate} requests/s`)
const report = setInterval(() => console.log(`sim: ${formatProgress(simulator.progress())}`), 5000)
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void simulator.stop())
const final = await simulator.done
clearInterval(report)
console.log(`sim: done: ${formatProgress(final)}`)
