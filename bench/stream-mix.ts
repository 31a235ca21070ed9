// What of the per-entry cost's rise from 1 stream to many is the number of streams, and what is the mix of proxies
// they carry. The bench's single stream carries one proxy's messages (productpage's); its 10 streams carry ten
// proxies'. This runs, alternately and each on a fresh meshsight: 1 stream of proxy 0, STREAMS streams all of
// proxy 0, and STREAMS streams of up to STREAMS proxies (as the bench does), and prints the medians of server CPU
// per entry. A diagnostic for docs/performance.md, not a target; `npm run bench` is the measurement of record.
// Usage: node bench/stream-mix.ts [STREAMS] [MESSAGES] [ROUNDS] [--no-build]
import { fileURLToPath } from "node:url"
import { buildServer } from "../scripts/start-command.ts"
import { startMeshsight } from "./meshsight.ts"
import { median, warmedRun } from "./processes.ts"
import type { Workload } from "./workload.ts"

interface Case {
  readonly name: string
  readonly streams: number
  readonly proxy: number | undefined
}

/** Server CPU per entry of one case on a fresh meshsight, after a warm-up of the same load. */
const measure = async (c: Case, messages: number): Promise<number> => {
  const workload: Workload = { seed: 1, startMs: Date.now(), messages: 600, ...(c.proxy === undefined ? {} : { proxy: c.proxy }) }
  const meshsight = await startMeshsight()
  try {
    const warmUp = Math.max(3, Math.ceil(3000 / c.streams))
    const perStream = Math.ceil(messages / c.streams)
    return (await warmedRun(meshsight.target, meshsight.pid, c.streams, warmUp, perStream, workload)).cpuNsPerEntry
  } finally {
    await meshsight.stop()
  }
}

const streamMix = async (streams: number, messages: number, rounds: number) => {
  const cases: ReadonlyArray<Case> = [
    { name: "1 stream, one proxy", streams: 1, proxy: 0 },
    { name: `${streams} streams, one proxy`, streams, proxy: 0 },
    // Stream i sends proxy i's pool, modulo the proxies with messages to send (13 in this workload).
    { name: `${streams} streams, the bench's mix`, streams, proxy: undefined }
  ]
  const runs = cases.map(() => [] as Array<number>)
  for (let round = 0; round < rounds; round++) for (const [i, c] of cases.entries()) runs[i].push(await measure(c, messages))
  return cases.map((c, i) => ({ ...c, cpuNsPerEntry: runs[i].map(Math.round), median: Math.round(median(runs[i])) }))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [streamsArg = "10", messagesArg = "15000", roundsArg = "3"] = process.argv.slice(2).filter((a) => !a.startsWith("--"))
  if (!process.argv.includes("--no-build")) {
    const errors = buildServer()
    if (errors !== undefined) console.error(errors)
  }
  const [one, sameProxy, mixed] = await streamMix(Number(streamsArg), Number(messagesArg), Number(roundsArg))
  for (const r of [one, sameProxy, mixed])
    console.log(`${r.name.padEnd(28)} ${r.cpuNsPerEntry.join(" ")} ns CPU per entry, median ${r.median}`)
  const pct = (a: number, b: number) => `${((b / a - 1) * 100).toFixed(0)} %`
  console.log(
    `1 → ${sameProxy.streams} streams: ${pct(one.median, mixed.median)} in all; ${pct(one.median, sameProxy.median)} with one proxy on every ` +
      `stream, then ${pct(sameProxy.median, mixed.median)} for the mix of proxies`
  )
}
