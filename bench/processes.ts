// Child processes for the benchmark, each pinned to a core with taskset (meshsight on one, its load on the other).
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { grpcMaxStreamsPerConnection } from "../src/ingest/grpc-settings.ts"
import { encodeWorkload, type Workload } from "./workload.ts"
import { childPids } from "../testkit/child-pids.ts"

const hasTaskset = (() => {
  try {
    execFileSync("taskset", ["-c", "0", "true"])
    return true
  } catch {
    return false
  }
})()

export const pinning = hasTaskset ? "meshsight (or the no-op server) on core 0, the client on core 1" : "not pinned (taskset unavailable)"

/** `cores`: one core, or a taskset list such as "0,1". */
export const spawnPinned = (
  core: number | string,
  args: ReadonlyArray<string>,
  env: Record<string, string> = {},
  stdin: "ignore" | "pipe" = "ignore"
): ChildProcess => {
  const [command, ...rest] = hasTaskset ? ["taskset", "-c", String(core), process.execPath, ...args] : [process.execPath, ...args]
  return spawn(command, rest, { env: { ...process.env, ...env }, stdio: [stdin, "pipe", "pipe"] })
}

/** Everything the process printed to stdout, once it exits 0. */
export const outputOf = (child: ChildProcess): Promise<string> =>
  new Promise((resolve, reject) => {
    let out = ""
    let err = ""
    child.stdout!.on("data", (d) => (out += d))
    child.stderr!.on("data", (d) => (err += d))
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${child.spawnargs.join(" ")} exited ${code}:\n${err}`))))
  })

/** The first line the process prints (a port, say). */
export const firstLine = (child: ChildProcess): Promise<string> =>
  new Promise((resolve, reject) => {
    let out = ""
    child.stdout!.on("data", (d) => {
      out += d
      const newline = out.indexOf("\n")
      if (newline >= 0) resolve(out.slice(0, newline).trim())
    })
    child.once("exit", (code) => reject(new Error(`${child.spawnargs.join(" ")} exited ${code} before printing`)))
  })

export { freePort } from "../scripts/ports.ts"

/**
 * Connections for `streams` streams, as many as meshsight's default per-connection limit asks for
 * (MESHSIGHT_GRPC_MAX_STREAMS_PER_CONNECTION): grpc-js's client queues the streams past it until one ends, so 1000
 * streams on one connection were 100 at a time (and a real proxy has a connection of its own).
 */
export const connectionsFor = (streams: number) => Math.ceil(streams / grpcMaxStreamsPerConnection.default)

/** bench/client.ts's arguments: `streams` streams of `perStream` messages each to `target` over `connections`. */
const clientArgs = (target: string, streams: number, perStream: number, w: Workload, connections: number) => [
  fileURLToPath(new URL("./client.ts", import.meta.url)),
  target,
  String(streams),
  String(perStream),
  encodeWorkload(w),
  String(connections)
]

/** bench/client.ts on core 1: `streams` streams of `perStream` messages each to `target` (0, 0: each proxy's pool once). */
export const runClient = (target: string, streams: number, perStream: number, w: Workload, connections = 1) =>
  outputOf(spawnPinned(1, clientArgs(target, streams, perStream, w, connections))).then(
    (out) => JSON.parse(out) as { entries: number; seconds: number }
  )

/** Peak and current resident set size of a process, in MiB (Linux /proc). */
export const memoryOf = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? Number.NaN)
  return { peakRssMb: kib("VmHWM") / 1024, rssMb: kib("VmRSS") / 1024 }
}

/**
 * Where a process' resident memory is (Linux /proc/PID/smaps), in MiB: mapped files (node's binary and libraries),
 * the brk heap (malloc's main arena), and other anonymous memory (V8's heap pages, other malloc arenas, stacks).
 */
export const residentParts = (pid: number) => {
  const parts = { files: 0, brkHeap: 0, anonymous: 0 }
  let part: keyof typeof parts = "anonymous"
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line)
    if (header !== null) part = header[2] === "[heap]" ? "brkHeap" : header[1] !== "0" ? "files" : "anonymous"
    else if (line.startsWith("Rss:")) parts[part] += Number(line.split(/\s+/)[1]) / 1024
  }
  return parts
}

/** CPU time (user + system) a process has used so far, in seconds (Linux /proc; clock ticks of 1/100 s). */
export const cpuSecondsOf = (pid: number): number => {
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** CPU time of a process and its children (the workers of a meshsight primary), in seconds. */
export const treeCpuSecondsOf = (pid: number): number =>
  childPids(pid).reduce((total, child) => total + cpuSecondsOf(child), cpuSecondsOf(pid))

/**
 * Until process `pid` is done with what it was sent: a second at least (a client takes a while to start 1000
 * calls), then until two 100 ms spells in a row add no CPU tick (at most 10 s).
 */
const settled = async (pid: number) => {
  await new Promise((resolve) => setTimeout(resolve, 1000))
  for (let i = 0, quiet = 0, last = cpuSecondsOf(pid); i < 90 && quiet < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    const now = cpuSecondsOf(pid)
    quiet = now === last ? quiet + 1 : 0
    last = now
  }
}

/**
 * As `measuredRun`, counting only streams already open: every stream sends its first message (the identifier
 * and its entries), and once the server has handled them the rest is measured (`perStream` ≥ 2). Stream setup —
 * the call, the identifier, the stream's state — is left out, as for Envoy's streams that last hours;
 * `setupCpuUs` is the server's CPU per stream for the first messages (their entries included).
 */
export const measuredOpenRun = async (target: string, pid: number, streams: number, perStream: number, w: Workload, connections = 1) => {
  const cpuAtStart = cpuSecondsOf(pid)
  const open = await openStreams(target, streams, perStream, w, connections)
  await settled(pid)
  const cpuBefore = cpuSecondsOf(pid)
  const { entries, seconds } = await open.go()
  return {
    entries,
    seconds,
    cpuNsPerEntry: ((cpuSecondsOf(pid) - cpuBefore) / entries) * 1e9,
    setupCpuUs: ((cpuBefore - cpuAtStart) / streams) * 1e6
  }
}

/**
 * bench/client.ts on core 1 with `streams` streams over `connections`, resolved once each stream has sent its first
 * message and stays open; `go` sends the rest (`perStream` − 1 messages a stream) and gives the client's figures.
 */
export const openStreams = async (target: string, streams: number, perStream: number, w: Workload, connections: number) => {
  const client = spawnPinned(1, [...clientArgs(target, streams, perStream, w, connections), "--open-first"], {}, "pipe")
  const output = outputOf(client)
  await firstLine(client)
  return {
    go: async () => {
      client.stdin!.end("go\n")
      return JSON.parse((await output).split("\n").find((l) => l.startsWith("{"))!) as { entries: number; seconds: number }
    }
  }
}

/**
 * One `runClient` run against the server process `pid`: entries, seconds, and the server's CPU nanoseconds per entry
 * (`cpuOf`: the process alone, or `treeCpuSecondsOf` with its workers).
 */
export const measuredRun = async (
  target: string,
  pid: number,
  streams: number,
  perStream: number,
  w: Workload,
  connections = 1,
  cpuOf: (pid: number) => number = cpuSecondsOf
) => {
  const cpuBefore = cpuOf(pid)
  const { entries, seconds } = await runClient(target, streams, perStream, w, connections)
  return { entries, seconds, cpuNsPerEntry: ((cpuOf(pid) - cpuBefore) / entries) * 1e9 }
}

/**
 * `runClient` with `warmUpPerStream` messages per stream (the JIT and the server's caches warmed on the same load),
 * then `measuredRun` with `perStream` more, both over `connectionsFor(streams)`.
 */
export const warmedRun = async (target: string, pid: number, streams: number, warmUpPerStream: number, perStream: number, w: Workload) => {
  const connections = connectionsFor(streams)
  await runClient(target, streams, warmUpPerStream, w, connections)
  return measuredRun(target, pid, streams, perStream, w, connections)
}

/** The middle value (the upper of the two middle ones for an even count). */
export const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]

export const stopProcess = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })
