// Memory per connected proxy: each Envoy holds its own connection to meshsight (its ALS stream on it), so a mesh of
// N proxies is N HTTP/2 connections. Opens CONNECTIONS connections with one ALS stream each, each stream's first
// 100-entry message sent and the stream left open, then after a full collection reads RSS and V8's heap and
// external memory; the same for the no-op grpc-js server (bench/noop-server.ts), whose figure is the transport's
// own. Writes bench/results.json's "connectionMemory" (the rest is kept).
// Usage: node bench/connection-memory.ts [CONNECTIONS=500] [--no-build]
import { fileURLToPath } from "node:url"
import { buildServer, serviceNodeFlags } from "../scripts/start-command.ts"
import { startMeshsight } from "./meshsight.ts"
import { firstLine, memoryOf, openStreams, spawnPinned, stopProcess } from "./processes.ts"
import { writeResultsPart } from "./results-file.ts"
import type { Workload } from "./workload.ts"

const connections = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 500)
const workload: Workload = { seed: 1, startMs: Date.now(), messages: 600 }
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))
const MiB = 1024 * 1024

/** RSS idle, then with the connections open (after `collect`), and the KiB a connection. */
const measure = async (pid: number, target: string, collect: () => Promise<unknown>) => {
  await pause(1_000)
  const idleRssMb = memoryOf(pid).rssMb
  const open = await openStreams(target, connections, 2, workload, connections)
  await pause(2_000)
  await collect()
  await pause(1_000)
  const openRssMb = memoryOf(pid).rssMb
  return { figures: { idleRssMb, openRssMb, kibPerConnection: ((openRssMb - idleRssMb) * 1024) / connections }, finish: open.go }
}

if (!process.argv.includes("--no-build")) {
  const errors = buildServer()
  if (errors !== undefined) console.error(errors)
}

const meshsight = await startMeshsight(serviceNodeFlags, {}, { inspector: true })
const m = await measure(meshsight.pid, meshsight.target, () => meshsight.collectGarbage())
const heapUsedMb = (await meshsight.metric("nodejs_heap_size_used_bytes")) / MiB
const externalMb = (await meshsight.metric("nodejs_external_memory_bytes")) / MiB
const streams = await meshsight.metric("meshsight_als_streams_active")
await m.finish()
await meshsight.stop()

const server = spawnPinned(0, ["--expose-gc", here("./noop-server.ts")])
const port = await firstLine(server)
const t = await measure(server.pid!, `127.0.0.1:${port}`, async () => server.kill("SIGUSR2"))
await t.finish()
await stopProcess(server)

const f = (n: number) => n.toFixed(0)
const [a, b] = [m.figures, t.figures]
console.log(
  `${connections} connections, an open ALS stream each (${streams} open in meshsight), after a full collection:\n` +
    `  meshsight RSS ${f(a.idleRssMb)} → ${f(a.openRssMb)} MiB, ${f(a.kibPerConnection)} KiB a connection (V8 heap used ${f(heapUsedMb)} MiB, external ${f(externalMb)})\n` +
    `  no-op grpc-js server RSS ${f(b.idleRssMb)} → ${f(b.openRssMb)} MiB, ${f(b.kibPerConnection)} KiB a connection`
)
writeResultsPart("connectionMemory", {
  date: new Date().toISOString(),
  connections,
  streamsOpen: streams,
  meshsight: { ...a, heapUsedMb, externalMb },
  transport: b
})
console.log("written to bench/results.json (connectionMemory)")
