// Does meshsight's memory stay flat under steady traffic? The live simulator (sim/, real-time timestamps, its
// MetricsService stats too) drives meshsight at a steady rate for N minutes with a retention shorter than the run,
// so that minutes are pruned while new ones fill; meshsight's RSS, V8 heap and series are sampled every 5 s and
// printed a row per minute.
//
// Pass: RSS is flat after warm-up. Warm-up is the retention plus one minute (the store then holds a full retention,
// and drops a minute for every minute it adds) or the first half of the run, whichever is longer. Over the minutes
// after it, the least-squares slope of each minute's mean RSS must be below MAX_SLOPE_MIB_PER_MIN (12 samples a
// minute smooth the GC's sawtooth). Writes its figures to bench/results.json's "longRun" (the rest is kept).
//
// Usage: node bench/long-run.ts [MINUTES=10] [--retention 3] [--rate 150] [--no-build] [NAME=VALUE …: meshsight settings]
//        npm run bench -- --long [MINUTES] …
import { cpus, loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { buildServer, serviceNodeFlags } from "../scripts/start-command.ts"
import { startMeshsight } from "./meshsight.ts"
import { cpuSecondsOf, memoryOf, spawnPinned, stopProcess } from "./processes.ts"
import { writeResultsPart } from "./results-file.ts"

/** The largest growth of RSS after warm-up still called flat. */
const MAX_SLOPE_MIB_PER_MIN = 1
const SAMPLE_MS = 5_000

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    retention: { type: "string", default: "3" },
    rate: { type: "string", default: "150" },
    "no-build": { type: "boolean", default: false },
    long: { type: "boolean", default: false }
  }
})
const minutes = Number(positionals.find((a) => /^\d+$/.test(a)) ?? 10)
const retention = Number(values.retention)
/** User requests per second at the simulated gateway (each makes several logged calls). */
const rate = Number(values.rate)
const settings = Object.fromEntries(
  positionals.filter((a) => /^[A-Z_]+=/.test(a)).map((a) => [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)])
)
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const MiB = 1024 * 1024

/** Least-squares slope of ys over xs. */
const slope = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>): number => {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my)
    den += (xs[i] - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}

if (!values["no-build"]) {
  const errors = buildServer()
  if (errors !== undefined) console.error(`long-run: tsc reported errors, running what it emitted:\n${errors}`)
}
const loadBefore = loadavg()[0]
const meshsight = await startMeshsight(serviceNodeFlags, { MESHSIGHT_RETENTION_MINUTES: String(retention), ...settings })
const idle = memoryOf(meshsight.pid)
const sim = spawnPinned(1, [
  here("../sim/cli.ts"),
  "--target",
  meshsight.target,
  "--rate",
  String(rate),
  "--duration",
  String(Math.ceil(minutes * 60) + 5),
  "--instances",
  "10",
  "--extra-services",
  "50",
  "--peers",
  "struct"
])
/** The simulator's last progress line (entries, messages dropped at full streams, reconnects). */
let simProgress = ""
sim.stdout!.on("data", (d: Buffer) => {
  const lines = String(d).trim().split("\n")
  simProgress = lines.at(-1) ?? simProgress
})
sim.stderr!.on("data", (d: Buffer) => process.stderr.write(d))

interface Sample {
  readonly atS: number
  readonly rssMb: number
  readonly heapUsedMb: number
  readonly heapTotalMb: number
  readonly externalMb: number
  readonly series: number
}
const samples: Array<Sample> = []
const startedAt = Date.now()
const cpuBefore = cpuSecondsOf(meshsight.pid)
/** ALS entries meshsight has decoded so far. */
const entriesSoFar = async () =>
  (await meshsight.metric('meshsight_als_entries_total{kind="http"}')) + (await meshsight.metric('meshsight_als_entries_total{kind="tcp"}'))
const entriesBefore = await entriesSoFar()
console.log(
  `long run: ${minutes} min, simulator at ${rate} requests/s (10 instances a workload, 50 extra services), retention ${retention} min; ` +
    `meshsight idle RSS ${idle.rssMb.toFixed(0)} MiB`
)
console.log("| minute | RSS mean (MiB) | RSS max | V8 heap used (lowest) / total | external | series | entries/s |")
console.log("|---:|---:|---:|---:|---:|---:|---:|")
interface MinuteRow {
  readonly minute: number
  readonly rssMeanMb: number
  readonly rssMaxMb: number
  readonly heapUsedMb: number
  /** The lowest V8 heap in use of the minute's samples: close to the live data after a GC. */
  readonly heapUsedMinMb: number
  readonly heapTotalMb: number
  readonly externalMb: number
  readonly series: number
  readonly entriesPerSecond: number
}
const rows: Array<MinuteRow> = []
let entriesAtMinute = entriesBefore
const SAMPLES_A_MINUTE = 60_000 / SAMPLE_MS
for (let k = 1; k <= minutes * SAMPLES_A_MINUTE; k++) {
  await new Promise((r) => setTimeout(r, Math.max(0, startedAt + k * SAMPLE_MS - Date.now())))
  const metric = meshsight.metric
  samples.push({
    atS: (Date.now() - startedAt) / 1000,
    rssMb: memoryOf(meshsight.pid).rssMb,
    heapUsedMb: (await metric("nodejs_heap_size_used_bytes")) / MiB,
    heapTotalMb: (await metric("nodejs_heap_size_total_bytes")) / MiB,
    externalMb: (await metric("nodejs_external_memory_bytes")) / MiB,
    series: await metric("meshsight_store_series")
  })
  if (k % SAMPLES_A_MINUTE !== 0) continue
  const inMinute = samples.slice(-SAMPLES_A_MINUTE)
  const last = inMinute.at(-1)!
  const entries = await entriesSoFar()
  const row: MinuteRow = {
    minute: k / SAMPLES_A_MINUTE,
    rssMeanMb: inMinute.reduce((n, s) => n + s.rssMb, 0) / inMinute.length,
    rssMaxMb: Math.max(...inMinute.map((s) => s.rssMb)),
    heapUsedMb: last.heapUsedMb,
    heapUsedMinMb: Math.min(...inMinute.map((s) => s.heapUsedMb)),
    heapTotalMb: last.heapTotalMb,
    externalMb: last.externalMb,
    series: last.series,
    entriesPerSecond: (entries - entriesAtMinute) / 60
  }
  entriesAtMinute = entries
  rows.push(row)
  const f = (n: number) => n.toFixed(0)
  console.log(
    `| ${row.minute} | ${f(row.rssMeanMb)} | ${f(row.rssMaxMb)} | ${f(row.heapUsedMb)} (${f(row.heapUsedMinMb)}) / ${f(row.heapTotalMb)} | ${f(row.externalMb)} | ${row.series} | ${f(row.entriesPerSecond)} |`
  )
}
const cpuSeconds = cpuSecondsOf(meshsight.pid) - cpuBefore
const entries = (await entriesSoFar()) - entriesBefore
await stopProcess(sim)
await meshsight.stop()
const loadAfter = loadavg()[0]

const warmUp = Math.max(retention + 1, Math.floor(minutes / 2))
const after = rows.filter((r) => r.minute > warmUp)
const growth =
  after.length < 2
    ? Number.NaN
    : slope(
        after.map((r) => r.minute),
        after.map((r) => r.rssMeanMb)
      )
const flat = growth < MAX_SLOPE_MIB_PER_MIN
/** For telling retained data from V8's committed memory: the same slope of the minutes' lowest V8 heap in use. */
const heapGrowth =
  after.length < 2
    ? Number.NaN
    : slope(
        after.map((r) => r.minute),
        after.map((r) => r.heapUsedMinMb)
      )
const verdict =
  after.length < 2
    ? `NOT JUDGED: the run is too short for two minutes after a warm-up of ${warmUp} min`
    : `${flat ? "met" : "MISSED"}: RSS flat after a warm-up of ${warmUp} min (slope of the minutes' mean RSS ` +
      `${growth.toFixed(2)} MiB/min over minutes ${after[0].minute}–${after.at(-1)!.minute}, limit ${MAX_SLOPE_MIB_PER_MIN}; ` +
      `the minutes' lowest V8 heap in use ${heapGrowth.toFixed(2)} MiB/min)`
console.log(
  `\n${Math.round(entries / (minutes * 60))} entries/s on average, ${((cpuSeconds / entries) * 1e9).toFixed(0)} ns CPU an entry; ` +
    `load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after, on ${cpus().length} cores`
)
console.log(simProgress)
console.log(verdict)

writeResultsPart("longRun", {
  date: new Date().toISOString(),
  minutes,
  retentionMinutes: retention,
  simulatorRequestsPerSecond: rate,
  settings,
  meshsightNodeFlags: serviceNodeFlags,
  loadAverage: { before: loadBefore, after: loadAfter },
  idleRssMb: idle.rssMb,
  entriesPerSecond: entries / (minutes * 60),
  cpuNsPerEntry: (cpuSeconds / entries) * 1e9,
  criterion: {
    warmUpMinutes: warmUp,
    maxSlopeMibPerMinute: MAX_SLOPE_MIB_PER_MIN,
    slopeMibPerMinute: growth,
    heapUsedSlopeMibPerMinute: heapGrowth,
    flat
  },
  simulator: simProgress,
  perMinute: rows,
  samples,
  verdict
})
console.log("written to bench/results.json (longRun)")
if (after.length >= 2 && !flat) process.exitCode = 1
