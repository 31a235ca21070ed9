// Query latency of storage mode `prometheus` on the benchmark's large mesh: one meshsight replica takes the
// ~124 k-series minute of `npm run bench` (1 000 services' endpoints and instance relations) once per minute for
// MINUTES minutes, writes each minute to a real Prometheus, and the API is timed over a 15-minute range: the
// topology (what the UI opens with), the services list, the instance topology and a service's series.
// Usage: npx node bench/tsdb-query.ts [MINUTES (default 15)] [--quick]: --quick makes the ~40 k-series minute.
// Prints a table and writes bench/tsdb-query-results.json.
import { loadavg } from "node:os"
import { writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { buildServer } from "../scripts/start-command.ts"
import { startPrometheus } from "../testkit/tsdb.ts"
import { startMeshsight } from "./meshsight.ts"
import { outputOf, spawnPinned } from "./processes.ts"
import { encodeWorkload, type Workload } from "./workload.ts"

const args = process.argv.slice(2)
const quick = args.includes("--quick")
const minutes = Number(args.find((a) => /^\d+$/.test(a)) ?? 15)
const MINUTE = 60_000
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const TOPOLOGY = { instances: 10, extraServices: 50, ids: 2_500 }
const MESSAGES = quick ? 1_500 : 6_000

const timed = async (url: string) => {
  const t0 = performance.now()
  const res = await fetch(url)
  const body = await res.text()
  return {
    ms: performance.now() - t0,
    bytes: body.length,
    body,
    error: res.status === 200 ? undefined : `${res.status} ${body.slice(0, 200)}`
  }
}

const buildErrors = buildServer()
if (buildErrors !== undefined) console.error(`bench: tsc reported errors, benchmarking what it emitted:\n${buildErrors}`)
const prometheus = await startPrometheus([])
const meshsight = await startMeshsight(undefined, {
  MESHSIGHT_STORAGE: "prometheus",
  MESHSIGHT_PROMETHEUS_URL: prometheus.url,
  MESHSIGHT_REMOTE_WRITE_URL: prometheus.writeUrl,
  MESHSIGHT_MINUTE_WRITE_GRACE_MS: "500",
  MESHSIGHT_MESH_METRICS: "false",
  MESHSIGHT_REPLICA: "bench"
})
try {
  const now = Math.floor(Date.now() / MINUTE) * MINUTE
  const first = now - minutes * MINUTE
  const loadStart = performance.now()
  for (let k = 0; k < minutes; k++) {
    // Each minute's traffic dated in that minute: the minutes are over, so each is written once it has arrived.
    const w: Workload = { seed: 2, startMs: first + k * MINUTE + 1_000, messages: MESSAGES, topology: TOPOLOGY }
    await outputOf(spawnPinned(1, [here("./client.ts"), meshsight.target, "0", "0", encodeWorkload(w)]))
    process.stdout.write(`minute ${k + 1}/${minutes} sent\n`)
  }
  const series = await meshsight.metric("meshsight_minute_samples_written_total")
  // Every queued sample reaches Prometheus: wait for the queue to empty.
  for (;;) {
    const queued = await meshsight.metric("meshsight_remote_write_queue_samples")
    if (queued === 0) break
    await new Promise((r) => setTimeout(r, 500))
  }
  const loadSeconds = (performance.now() - loadStart) / 1000
  const head = Number((await prometheus.query("prometheus_tsdb_head_series"))[0]?.value[1] ?? Number.NaN)
  const range = `start=${first}&end=${now}`
  const paths = {
    topology: `/api/topology?${range}`,
    services: `/api/services?${range}`,
    instanceTopology: `/api/instance-topology?${range}`
  }
  const rows: Array<{ query: string; bestMs: number; worstMs: number; bytes: number; error: string | undefined }> = []
  const measure = async (name: string, path: string) => {
    const runs = []
    for (let i = 0; i < 3; i++) runs.push(await timed(`${meshsight.url}${path}`))
    const times = runs.map((r) => r.ms)
    rows.push({
      query: name,
      bestMs: Math.min(...times),
      worstMs: Math.max(...times),
      bytes: runs[0].bytes,
      error: runs.find((r) => r.error)?.error
    })
    return runs[0]
  }
  const topology = JSON.parse((await measure("topology", paths.topology)).body)
  await measure("services", paths.services)
  await measure("instance topology", paths.instanceTopology)
  const service = topology.nodes[0]?.name as string
  await measure("series (one service)", `/api/series?scope=service&service=${encodeURIComponent(service)}&${range}`)
  const result = {
    date: new Date().toISOString(),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    minutes,
    samplesWritten: series,
    prometheusHeadSeries: head,
    topology: { nodes: topology.nodes.length, edges: topology.edges.length },
    loadSeconds: Math.round(loadSeconds),
    queries: rows.map((r) => ({ ...r, bestMs: Math.round(r.bestMs), worstMs: Math.round(r.worstMs) })),
    target: { topologyMs: 1_000, met: rows[0].error === undefined && rows[0].bestMs <= 1_000 }
  }
  console.table(result.queries)
  console.log(JSON.stringify({ ...result, queries: undefined }, null, 2))
  writeFileSync(here("./tsdb-query-results.json"), `${JSON.stringify(result, null, 2)}\n`)
} finally {
  await meshsight.stop()
  await prometheus.remove()
}
