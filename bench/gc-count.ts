// V8's collections in meshsight under the bench load: full mark-compacts and scavenges per million entries, server
// CPU per entry and RSS, for npm start's node flags plus any given. What `--initial-heap-size` was chosen by
// (docs/performance.md, round four): each 100-entry message arrives in a new ~69 KiB Buffer, and V8 counts those
// in its global limit, so the limit, not the JS heap's growth, decides how often a full collection runs.
// Usage: node bench/gc-count.ts [STREAMS] [MESSAGES] [NODE FLAG …]
import { serviceNodeFlags } from "../scripts/start-command.ts"
import { startMeshsight } from "./meshsight.ts"
import { connectionsFor, measuredRun, memoryOf, runClient } from "./processes.ts"
import type { Workload } from "./workload.ts"

const [streamsArg = "10", messagesArg = "10000", ...extraFlags] = process.argv.slice(2)
const streams = Number(streamsArg)
const workload: Workload = { seed: 1, startMs: Date.now(), messages: 600 }
const counts = { markCompacts: 0, scavenges: 0 }
const meshsight = await startMeshsight(
  [...serviceNodeFlags, ...extraFlags, "--trace-gc"],
  {},
  {
    stdout: (text) => {
      counts.markCompacts += text.split("Mark-Compact").length - 1
      counts.scavenges += text.split("Scavenge").length - 1
    }
  }
)
const connections = connectionsFor(streams)
await runClient(meshsight.target, streams, 100, workload, connections) // warm-up
counts.markCompacts = 0
counts.scavenges = 0
const { entries, cpuNsPerEntry } = await measuredRun(
  meshsight.target,
  meshsight.pid,
  streams,
  Math.ceil(Number(messagesArg) / streams),
  workload,
  connections
)
const memory = memoryOf(meshsight.pid)
await meshsight.stop()
const perMillion = (n: number) => Math.round((n / entries) * 1e6)
console.log(
  `${[...serviceNodeFlags, ...extraFlags].join(" ")}, ${streams} streams: ${perMillion(counts.markCompacts)} mark-compacts and ` +
    `${perMillion(counts.scavenges)} scavenges per 1 M entries, ${Math.round(cpuNsPerEntry)} ns server CPU per entry, ` +
    `RSS ${memory.rssMb.toFixed(0)} MiB (peak ${memory.peakRssMb.toFixed(0)})`
)
