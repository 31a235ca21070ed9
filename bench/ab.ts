// Two server variants, alternately, on the same load: server CPU time per entry of each run and their medians. For
// judging one change on a shared machine, where a single run of each moves by ±15 %.
// A variant is `[NODE FLAGS|][NAME=VALUE,…@]MAIN`: `dist/main.js`, `--some-v8-flag|dist/main.js`,
// `MESHSIGHT_MESH_METRICS=false@dist/main.js`; copy dist/ elsewhere (e.g. dist-a/) to compare two builds.
// Every variant also gets npm start's node flags (and the other settings of bench/meshsight.ts). Each round starts each variant afresh, warms it up with 100
// messages per stream, then measures MESSAGES more.
// Usage: node bench/ab.ts VARIANT_A VARIANT_B ROUNDS STREAMS MESSAGES
import { serviceNodeFlags } from "../scripts/start-command.ts"
import { startMeshsight } from "./meshsight.ts"
import { median, warmedRun } from "./processes.ts"
import type { Workload } from "./workload.ts"

interface Variant {
  readonly nodeFlags: ReadonlyArray<string>
  readonly env: Record<string, string>
  readonly main: string
}

const parseVariant = (text: string): Variant => {
  const [flagPart, rest] = text.includes("|") ? (text.split("|", 2) as [string, string]) : ["", text]
  const [envPart, main] = rest.includes("@") ? (rest.split("@", 2) as [string, string]) : ["", rest]
  const env = Object.fromEntries(
    envPart
      // A value may hold commas itself (MALLOC_CONF=a:1,b:2): a new setting starts only where a NAME= follows.
      .split(/,(?=[A-Z_][A-Z0-9_]*=)/)
      .filter((a) => a !== "")
      .map((a) => [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)])
  )
  return { nodeFlags: flagPart.split(" ").filter((f) => f !== ""), env, main }
}

const [a, b, roundsArg, streamsArg, messagesArg] = process.argv.slice(2)
if (messagesArg === undefined) {
  console.error("usage: node bench/ab.ts VARIANT_A VARIANT_B ROUNDS STREAMS MESSAGES")
  process.exit(2)
}
const streams = Number(streamsArg)
const workload: Workload = { seed: 1, startMs: Date.now(), messages: 600 }
const variants = [a, b].map((text) => ({ text, variant: parseVariant(text), cpuNsPerEntry: [] as Array<number> }))
for (let round = 0; round < Number(roundsArg); round++) {
  for (const v of variants) {
    const meshsight = await startMeshsight([...serviceNodeFlags, ...v.variant.nodeFlags], v.variant.env, { main: v.variant.main })
    const perStream = Math.ceil(Number(messagesArg) / streams)
    const { cpuNsPerEntry } = await warmedRun(meshsight.target, meshsight.pid, streams, 100, perStream, workload)
    v.cpuNsPerEntry.push(Math.round(cpuNsPerEntry))
    await meshsight.stop()
  }
}
for (const v of variants) {
  console.log(`${v.text}: ${v.cpuNsPerEntry.join(" ")} ns CPU per entry, median ${median(v.cpuNsPerEntry)}`)
}
