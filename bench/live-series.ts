// meshsight's memory holding many live series: a mesh with many instances and endpoints (one minute of a 569-pod
// mesh, ~124 k series; the quick one ~40 k), each proxy's pool sent once. RSS 1.5 s after the load (one flush beat
// and some), the peak, and V8's heap as meshsight's /metrics reports it. `npm run bench` runs it; alone:
// Usage: node bench/live-series.ts [--quick] [--no-build] [NAME=VALUE …: settings for meshsight]
import { fileURLToPath } from "node:url"
import { loadavg } from "node:os"
import { buildServer, serviceNodeFlags } from "../scripts/start-command.ts"
import { startMeshsight } from "./meshsight.ts"
import { memoryOf, residentParts, runClient } from "./processes.ts"
import type { Workload } from "./workload.ts"

export const manySeries = (quick: boolean): Workload => ({
  seed: 2,
  // The entries span a second from here: from the minute's start they all fall in one minute. From `Date.now()` one
  // run in sixty crossed into the next minute and held 155 k series instead of 124 k.
  startMs: Math.floor(Date.now() / 60_000) * 60_000,
  messages: quick ? 1_500 : 6_000,
  topology: { instances: 10, extraServices: 50, ids: 2_500 }
})

const MiB = 1024 * 1024
/** How long after the load the unforced sample is taken. */
export const SETTLE_MS = 30_000

export const liveSeries = async (quick: boolean, nodeFlags: ReadonlyArray<string> = serviceNodeFlags, env: Record<string, string> = {}) => {
  const meshsight = await startMeshsight(nodeFlags, env, { inspector: true })
  const idleRssMb = memoryOf(meshsight.pid).rssMb
  await runClient(meshsight.target, 0, 0, manySeries(quick))
  const sample = async () => ({
    ...memoryOf(meshsight.pid),
    resident: residentParts(meshsight.pid),
    heapTotalMb: (await meshsight.metric("nodejs_heap_size_total_bytes")) / MiB,
    heapUsedMb: (await meshsight.metric("nodejs_heap_size_used_bytes")) / MiB,
    externalMb: (await meshsight.metric("nodejs_external_memory_bytes")) / MiB
  })
  await new Promise((r) => setTimeout(r, 1_500)) // one flush beat and some
  const series = await meshsight.metric("meshsight_store_series")
  const afterLoad = await sample()
  // Left alone (the flush beat and housekeeping go on): what V8 and malloc give back by themselves.
  await new Promise((r) => setTimeout(r, SETTLE_MS))
  const settled = await sample()
  // What the series need: after a full collection (the inspector's), the garbage of the load gone.
  await meshsight.collectGarbage()
  await new Promise((r) => setTimeout(r, 500))
  const atRest = await sample()
  await meshsight.stop()
  return { series, idleRssMb, ...afterLoad, settled, atRest }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes("--quick")
  if (!process.argv.includes("--no-build")) {
    const errors = buildServer()
    if (errors !== undefined) console.error(errors)
  }
  const load = loadavg()[0]
  const env = Object.fromEntries(
    process.argv.filter((a) => /^[A-Z_]+=/.test(a)).map((a) => [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)])
  )
  const r = await liveSeries(quick, serviceNodeFlags, env)
  console.log(JSON.stringify(r))
  const f = (n: number) => n.toFixed(0)
  console.log(
    `${r.series} live series: RSS ${f(r.rssMb)} MiB (peak ${f(r.peakRssMb)}, idle before ${f(r.idleRssMb)}); ` +
      `V8 heap ${f(r.heapUsedMb)} of ${f(r.heapTotalMb)} MiB used, external ${f(r.externalMb)} MiB; ` +
      `${SETTLE_MS / 1000} s later RSS ${f(r.settled.rssMb)} MiB, heap ${f(r.settled.heapUsedMb)} of ${f(r.settled.heapTotalMb)}, external ${f(r.settled.externalMb)}; ` +
      `after a full GC RSS ${f(r.atRest.rssMb)} MiB, heap ${f(r.atRest.heapUsedMb)} of ${f(r.atRest.heapTotalMb)}, external ${f(r.atRest.externalMb)}; ` +
      `load average ${load.toFixed(2)} → ${loadavg()[0].toFixed(2)}`
  )
}
