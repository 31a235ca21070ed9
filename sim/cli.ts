// `node sim/cli.ts --target 127.0.0.1:11800 --rate 20 --duration 60 --seed 1`: simulated bookinfo traffic into a
// running meshsight. Ctrl-C ends the streams cleanly.
import { parseArgs } from "node:util"
import { startSimulator } from "./simulator.ts"
import { bookinfo } from "./topology.ts"

const { values } = parseArgs({
  options: {
    target: { type: "string", default: "127.0.0.1:11800" },
    rate: { type: "string", default: "20" },
    duration: { type: "string" },
    seed: { type: "string", default: "1" },
    instances: { type: "string", default: "2" },
    "extra-services": { type: "string", default: "0" }
  }
})

const number = (name: string, raw: string) => {
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) {
    console.error(`sim: --${name} must be a non-negative number, got ${JSON.stringify(raw)}`)
    process.exit(2)
  }
  return n
}

const simulator = startSimulator({
  target: values.target,
  rate: number("rate", values.rate),
  seed: number("seed", values.seed),
  ...(values.duration === undefined ? {} : { durationS: number("duration", values.duration) }),
  topology: bookinfo({ instances: number("instances", values.instances), extraServices: number("extra-services", values["extra-services"]) })
})
console.log(`sim: bookinfo traffic → ${values.target} at ${values.rate} requests/s`)
const report = setInterval(() => {
  const p = simulator.progress()
  console.log(`sim: ${p.requests} requests, ${p.entries} entries in ${p.messages} messages (${Math.round(p.entries / (p.elapsedMs / 1000))} entries/s)${p.reconnects ? `, ${p.reconnects} reconnects` : ""}`)
}, 5000)
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void simulator.stop())
const final = await simulator.done
clearInterval(report)
console.log(`sim: done: ${final.requests} requests, ${final.entries} entries sent`)
