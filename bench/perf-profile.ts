// Where meshsight's CPU goes as a whole process — its JavaScript, V8's collector and compiler threads, Node's
// native HTTP/2 and libuv, malloc and the kernel — by sampling it with Linux `perf` under load. `--cpu-prof`
// (bench/profile-top.ts) sees only the JavaScript thread's own frames; this sees every thread and the system calls.
// Each sample is put in one part: for JavaScript frames by their source file (dist/main.js through its source map),
// for native frames by library and function. perf names a JavaScript frame by its outermost function only, so code
// V8 inlined counts for the function it was inlined into (mx-mesh's `fill` for the ALS pipeline's `handle`, say).
// Needs `perf` (Debian: linux-perf) and permission to profile a process of this user; builds dist/ first unless
// --no-build. A warm-up of 20 messages per stream first; V8 goes on compiling for a few hundred thousand entries more.
// Usage: node bench/perf-profile.ts [STREAMS] [MESSAGES_PER_STREAM] [--no-build]
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { existsSync, readFileSync, rmSync } from "node:fs"
import { SourceMap } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { buildServer, serviceNodeFlags } from "../scripts/start-command.ts"
import { startMeshsight } from "./meshsight.ts"
import { connectionsFor, cpuSecondsOf, runClient } from "./processes.ts"

const [streams, perStream] = process.argv
  .slice(2)
  .filter((a) => !a.startsWith("--"))
  .map(Number)
const STREAMS = streams || 100
const PER_STREAM = perStream || Math.ceil(5_000 / STREAMS)
const workload = { seed: 1, startMs: Date.now(), messages: 600 }

if (spawnSync("perf", ["--version"]).status !== 0) {
  console.error("perf-profile: needs Linux perf on the PATH (Debian: apt install linux-perf)")
  process.exit(2)
}
if (!process.argv.includes("--no-build")) buildServer()

/** Which part of the pipeline a source file belongs to; undefined for shared helpers (the caller decides). */
const SOURCE_PARTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^src\/protocol\//, "meshsight: decode"],
  [/^src\/util\/(wire-reader|bounded-string)\.ts$/, "meshsight: decode"],
  [/^src\/identity\//, "meshsight: identify"],
  [/^src\/analysis\//, "meshsight: analyze"],
  [/^src\/(aggregation|store)\//, "meshsight: aggregate and store"],
  [/^src\/export\//, "meshsight: Istio export"],
  [/^src\/error-logs\//, "meshsight: error logs"],
  [/^src\/(pipeline|ingest)\//, "meshsight: ingest glue (stream, tallies)"],
  [/^node_modules\/@grpc\/grpc-js\//, "grpc-js (JavaScript)"],
  [/^node_modules\/(effect|@effect)\//, "Effect runtime"],
  [/^node:internal\/(streams|process|events)|^node:events/, "Node streams and events (JavaScript)"],
  [/^node:internal\/(http2|stream_base_commons)/, "Node HTTP/2 (JavaScript)"]
]

const sourceMaps = new Map<string, SourceMap | undefined>()
/** `JS:*'name file:///…/main.js:LINE:COLUMN` (node --perf-basic-prof) → its source path, e.g. src/protocol/x.ts. */
const sourceOf = (frame: string): string | undefined => {
  const m = /JS:\S*?'?\S* ((?:file|node):\S+?):(\d+):(\d+)/.exec(frame)
  if (m === null) return undefined
  const [, url, line, column] = m
  if (url.startsWith("node:")) return url
  if (!sourceMaps.has(url)) {
    const mapFile = `${fileURLToPath(url)}.map`
    sourceMaps.set(url, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, "utf8"))) : undefined)
  }
  const entry = sourceMaps.get(url)?.findEntry(Number(line) - 1, Number(column) - 1)
  const source = entry !== undefined && "originalSource" in entry ? entry.originalSource : url
  return source.replace(/^.*?\/(src|node_modules)\//, "$1/")
}

const isGc = (f: string) => /Scaveng|MarkCompact|Sweeper|ConcurrentMarking|MinorMarkSweep|Heap::|Evacuat/.test(f)
const isCompiler = (f: string) => /compiler::|turboshaft|[Mm]aglev|Compiler::|BytecodeGenerator/.test(f)

/** The part of one sample: `frames` leaf first, `thread` perf's command name of the thread. */
const partOf = (thread: string, frames: ReadonlyArray<string>): string => {
  const firstJs = frames.findIndex((f) => f.includes("JS:"))
  const nativeTop = firstJs < 0 ? frames : frames.slice(0, firstJs)
  if (nativeTop.some(isGc)) return "V8 garbage collection"
  if (nativeTop.some(isCompiler)) return "V8 JIT compilation"
  if (thread !== "MainThread") return "other threads"
  if (frames[0].includes("[kernel")) {
    const user = frames.find((f) => !f.includes("[kernel")) ?? ""
    if (/\bread\b/.test(user)) return "kernel: socket reads"
    if (/memmove|memset|memcpy/.test(user)) return "kernel: page faults"
    return "kernel: other system calls"
  }
  if (frames[0].includes("libjemalloc") || /\bmalloc|\bfree\b/.test(frames[0])) return "malloc"
  // Native code called from no JavaScript frame, or from Node's stream reads: Node's HTTP/2, libuv, nghttp2.
  if (nativeTop.some((f) => /nghttp2|Http2Session|LibuvStreamWrap|uv__/.test(f)) && !nativeTop.some((f) => f.includes("Builtins_"))) {
    return "Node HTTP/2 and libuv (native)"
  }
  // The nearest JavaScript frame that belongs to a part; V8's builtins and shared helpers count for their caller.
  for (const f of frames) {
    const source = sourceOf(f)
    if (source === undefined) continue
    const part = SOURCE_PARTS.find(([pattern]) => pattern.test(source))
    if (part !== undefined) return part[1]
  }
  return "other"
}

// --perf-basic-prof writes the JIT's symbols to /tmp/perf-PID.map for perf, and turns on V8's log: sent nowhere.
const meshsight = await startMeshsight([...serviceNodeFlags, "--perf-basic-prof", "--logfile=/dev/null", "--no-logfile-per-isolate"])
const perfData = join(tmpdir(), `meshsight-perf-${process.pid}.data`)
try {
  await runClient(meshsight.target, STREAMS, 20, workload, connectionsFor(STREAMS)) // warm-up
  const perf = spawn("perf", ["record", "-F", "1999", "-g", "-o", perfData, "-p", String(meshsight.pid)], { stdio: "ignore" })
  await new Promise((resolve) => setTimeout(resolve, 500))
  const cpuBefore = cpuSecondsOf(meshsight.pid)
  const { entries } = await runClient(meshsight.target, STREAMS, PER_STREAM, workload, connectionsFor(STREAMS))
  const cpuNsPerEntry = ((cpuSecondsOf(meshsight.pid) - cpuBefore) * 1e9) / entries
  perf.kill("SIGINT")
  await new Promise((resolve) => perf.once("exit", resolve))
  const script = execFileSync("perf", ["script", "-i", perfData], { maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] }).toString()
  const parts = new Map<string, number>()
  let samples = 0
  for (const block of script.split(/\n\s*\n/)) {
    const [head, ...lines] = block.trim().split("\n")
    if (head === undefined || lines.length === 0) continue
    const frames = lines.map((l) => l.trim().replace(/^[0-9a-f]+\s+/, ""))
    const part = partOf(head.trim().split(/\s+/)[0], frames)
    parts.set(part, (parts.get(part) ?? 0) + 1)
    samples++
  }
  console.log(
    `${STREAMS} streams, ${entries} entries, ${samples} samples; meshsight ${Math.round(cpuNsPerEntry)} ns of CPU per entry (/proc, all threads)`
  )
  for (const [part, n] of [...parts].sort((a, b) => b[1] - a[1])) {
    const share = n / samples
    console.log(`${(share * 100).toFixed(1).padStart(5)} %  ${String(Math.round(share * cpuNsPerEntry)).padStart(5)} ns  ${part}`)
  }
} finally {
  await meshsight.stop()
  rmSync(perfData, { force: true })
  rmSync(join(tmpdir(), `perf-${meshsight.pid}.map`), { force: true })
}
