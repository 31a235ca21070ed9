// `npm run bench` (`-- --quick` for a short run): on the same generated 100-entry ALS v3 messages, side by side,
//  - the transport limit: the bench client against a grpc-js server that only counts bytes;
//  - the decode limit of the standard library: protobufjs decoding the messages with Envoy's official protos;
//  - meshsight end to end (decode → identify → aggregate, queryable) with 1, 10, 100 and 1000 streams;
//  - meshsight's peak RSS, its RSS with ~100 k live series, and the delay from ingest to the query API.
// Prints a table and writes bench/results.json.
import { cpus } from "node:os"
import { writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { startMeshsight } from "./meshsight.ts"
import { memoryOf, outputOf, pinning, spawnPinned, stopProcess } from "./processes.ts"
import { ingestToQueryable } from "./queryable.ts"
import { ENTRIES_PER_MESSAGE, encodeWorkload, type Workload } from "./workload.ts"

const quick = process.argv.includes("--quick")
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const STREAM_COUNTS = [1, 10, 100, 1000]
/** Messages per end-to-end run (each 100 entries). */
const MESSAGES_PER_RUN = quick ? 3_000 : 20_000
const workload: Workload = { seed: 1, startMs: Date.now(), messages: 600 }

const client = (target: string, streams: number, perStream: number, w: Workload) =>
  outputOf(spawnPinned(1, [here("./client.ts"), target, String(streams), String(perStream), encodeWorkload(w)])).then(
    (out) => JSON.parse(out) as { entries: number; seconds: number }
  )

const rate = async (target: string, streams: number) => {
  const { entries, seconds } = await client(target, streams, Math.max(2, Math.ceil(MESSAGES_PER_RUN / streams)), workload)
  return entries / seconds
}

const decodeRates = async () =>
  JSON.parse(await outputOf(spawnPinned(0, [here("./decode.ts"), encodeWorkload(workload), quick ? "10" : "50"]))) as {
    protobufjs: number
    meshsight: number
  }

const transportRates = async () => {
  const server = spawnPinned(0, [here("./noop-server.ts")])
  const port = await new Promise<string>((resolve) => server.stdout!.once("data", (d) => resolve(String(d).trim())))
  const rates: Record<number, number> = {}
  for (const streams of STREAM_COUNTS) rates[streams] = await rate(`127.0.0.1:${port}`, streams)
  await stopProcess(server)
  return rates
}

const endToEnd = async () => {
  const meshsight = await startMeshsight()
  const rates: Record<number, number> = {}
  for (const streams of STREAM_COUNTS) rates[streams] = await rate(meshsight.target, streams)
  const delays = await ingestToQueryable(meshsight, quick ? 3 : 10)
  const memory = memoryOf(meshsight.pid)
  await meshsight.stop()
  return { rates, delays, memory }
}

/** RSS with many live series: a mesh with many instances and endpoints, each proxy's pool sent once. */
const liveSeries = async () => {
  const meshsight = await startMeshsight()
  const manySeries: Workload = { seed: 2, startMs: Date.now(), messages: quick ? 1_000 : 3_000, topology: { instances: 10, extraServices: 40, ids: 1_200 } }
  await client(meshsight.target, 0, 0, manySeries)
  await new Promise((r) => setTimeout(r, 1_500)) // one flush beat and some
  const series = await meshsight.metric("meshsight_store_series")
  const memory = memoryOf(meshsight.pid)
  await meshsight.stop()
  return { series, ...memory }
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const k = (n: number) => `${Math.round(n / 1000)} k`

console.log(`meshsight bench${quick ? " (quick)" : ""}: ${MESSAGES_PER_RUN} messages of ${ENTRIES_PER_MESSAGE} entries per run; ${pinning}`)
const decode = await decodeRates()
const transport = await transportRates()
const e2e = await endToEnd()
const series = await liveSeries()

const rows = STREAM_COUNTS.map((streams) => ({
  streams,
  transport: transport[streams],
  meshsight: e2e.rates[streams],
  ofTransport: e2e.rates[streams] / transport[streams],
  ofProtobufjs: e2e.rates[streams] / decode.protobufjs,
  nsPerEntry: 1e9 / e2e.rates[streams]
}))
console.log("\nentries/s, 100-entry ALS v3 messages")
console.log("| streams | no-op transport | meshsight end to end | × transport | × protobufjs decode | ns/entry |")
console.log("|---:|---:|---:|---:|---:|---:|")
for (const r of rows) {
  console.log(`| ${r.streams} | ${k(r.transport)} | ${k(r.meshsight)} | ${r.ofTransport.toFixed(2)} | ${r.ofProtobufjs.toFixed(2)} | ${Math.round(r.nsPerEntry)} |`)
}
console.log(`\ndecode only: protobufjs ${k(decode.protobufjs)} entries/s, meshsight's decoder ${k(decode.meshsight)} entries/s`)
console.log(`meshsight peak RSS over the runs above: ${e2e.memory.peakRssMb.toFixed(0)} MiB`)
console.log(`with ${series.series} live series: RSS ${series.rssMb.toFixed(0)} MiB (peak ${series.peakRssMb.toFixed(0)} MiB)`)
console.log(`ingest to queryable: median ${median(e2e.delays).toFixed(0)} ms, max ${Math.max(...e2e.delays).toFixed(0)} ms`)

const results = {
  date: new Date().toISOString(),
  quick,
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, pinning },
  messagesPerRun: MESSAGES_PER_RUN,
  entriesPerMessage: ENTRIES_PER_MESSAGE,
  decodeOnly: decode,
  endToEnd: rows,
  peakRssMb: e2e.memory.peakRssMb,
  liveSeries: series,
  ingestToQueryableMs: { median: median(e2e.delays), max: Math.max(...e2e.delays), probes: e2e.delays }
}
writeFileSync(here("./results.json"), JSON.stringify(results, null, 2) + "\n")
console.log("\nwritten to bench/results.json")
