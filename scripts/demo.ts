// `npm run demo [-- --rate 20 --duration 300 --seed 1]`: builds meshsight if needed, runs it (`node dist/main.js`)
// with simulated bookinfo traffic from ../sim, prints where to look, shows progress, and stops both on Ctrl-C.
// `--grpc-port`/`--http-port` pick the ports (0: any free one); by default meshsight's own 11800 and 12800, or
// free ports when those are taken.
import { spawn } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { createServer } from "node:net"
import { freePort } from "./ports.ts"
import { buildServer, SERVER_MAIN, serviceNodeFlags, waitUntilReady } from "./start-command.ts"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { nonNegativeOption } from "../sim/options.ts"
import { formatProgress } from "../sim/progress.ts"
import { startSimulator } from "../sim/simulator.ts"
import { bookinfo } from "../sim/topology.ts"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const PROGRESS_EVERY_MS = 5000

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "20" },
    duration: { type: "string" },
    seed: { type: "string", default: "1" },
    "grpc-port": { type: "string" },
    "http-port": { type: "string" }
  }
})

const option = (name: keyof typeof values, fallback?: number): number | undefined => {
  const raw = values[name]
  return raw === undefined ? fallback : nonNegativeOption("demo", name, raw)
}

const newestIn = (dir: string): number =>
  Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true }).map((e) => {
      const path = join(dir, e.name)
      return e.isDirectory() ? newestIn(path) : statSync(path).mtimeMs
    })
  )

/** Builds the server when dist/ is missing or older than src/; type errors are reported, and dist/ runs as bundled. */
const buildIfNeeded = () => {
  if (existsSync(SERVER_MAIN) && statSync(SERVER_MAIN).mtimeMs >= newestIn(join(ROOT, "src"))) return
  console.log("demo: building meshsight (scripts/build-server.ts) …")
  let errors: string | undefined
  try {
    errors = buildServer()
  } catch (e) {
    console.error(`demo: the build failed:\n${String((e as { stdout?: unknown }).stdout ?? e)}`)
    process.exit(1)
  }
  if (errors !== undefined) console.error(`demo: the build reported errors; running dist/ as built:\n${errors}`)
}

const canListen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer()
    server.once("error", () => resolve(false))
    server.listen(port, "0.0.0.0", () => server.close(() => resolve(true)))
  })

/** The requested port, else the default if it is free, else any free port (and say so). */
const choosePort = async (requested: number | undefined, fallback: number, what: string): Promise<number> => {
  if (requested !== undefined) return requested === 0 ? freePort("0.0.0.0") : requested
  if (await canListen(fallback)) return fallback
  const port = await freePort("0.0.0.0")
  console.log(`demo: port ${fallback} (${what}) is taken, using ${port} instead`)
  return port
}

/** meshsight's output, each line prefixed so it stands apart from the demo's own. */
const prefixLines = (stream: NodeJS.ReadableStream, write: (line: string) => void) => {
  let pending = ""
  stream.setEncoding("utf8")
  stream.on("data", (chunk: string) => {
    const lines = (pending + chunk).split("\n")
    pending = lines.pop() ?? ""
    for (const line of lines) write(`meshsight | ${line}`)
  })
}

const rate = option("rate", 20)!
const durationS = option("duration")
buildIfNeeded()
const grpcPort = await choosePort(option("grpc-port"), 11800, "gRPC ALS")
const httpPort = await choosePort(option("http-port"), 12800, "HTTP")

// Its own process group, so that Ctrl-C reaches only the demo, which stops the traffic first and then meshsight.
const meshsight = spawn(process.execPath, [...serviceNodeFlags, SERVER_MAIN], {
  cwd: ROOT,
  detached: true,
  stdio: ["ignore", "pipe", "pipe"],
  env: {
    // The simulated mesh fails a few calls a minute (404, 500, UF, UT): keep them as error logs (the Errors tabs).
    MESHSIGHT_HTTP_ANALYZERS: "mx-mesh,persistence",
    MESHSIGHT_TCP_ANALYZERS: "mx-mesh,persistence",
    ...process.env,
    MESHSIGHT_GRPC_ADDRESS: `0.0.0.0:${grpcPort}`,
    MESHSIGHT_HTTP_PORT: String(httpPort)
  }
})
const meshsightExit = new Promise<number | null>((resolve) => meshsight.once("exit", (code) => resolve(code)))
process.once("exit", () => meshsight.exitCode === null && meshsight.kill("SIGKILL"))
prefixLines(meshsight.stdout!, (l) => console.log(l))
prefixLines(meshsight.stderr!, (l) => console.error(l))

const url = `http://localhost:${httpPort}`
try {
  await waitUntilReady(url, meshsight, undefined, 30_000)
} catch (e) {
  console.error(`demo: ${(e as Error).message}`)
  process.exit(1)
}

const topology = bookinfo()
const simulator = startSimulator({
  target: `127.0.0.1:${grpcPort}`,
  rate,
  seed: option("seed", 1)!,
  entriesPerMessage: 20,
  topology,
  ...(durationS === undefined ? {} : { durationS })
})

console.log(`
meshsight is running: gRPC ALS on :${grpcPort}, HTTP on :${httpPort}.
Simulated Istio bookinfo traffic: ${rate} requests/s through the ingress gateway${durationS === undefined ? "" : ` for ${durationS} s`}, ${topology.pods.length} Envoy proxies, each with its own ALS and MetricsService stream.

  Web UI     ${url}/
  Topology   ${url}/api/topology
  Services   ${url}/api/services
  Endpoints  ${url}/api/services/reviews.default/endpoints
  Proxies    ${url}/api/services/reviews.default/proxies (Envoy's own stats: heap, connections, cluster health)
  Prometheus ${url}/metrics

What to expect within a few seconds (metrics are per minute; the current minute fills in as it goes, flushed every second):
  services   istio-ingressgateway.istio-system, productpage.default, details.default, reviews.default (v1, v2, v3 — v3 is slow),
             ratings.default, mysql.default
  edges      UNKNOWN → istio-ingressgateway → productpage → details, reviews; reviews → ratings (v2, v3 only);
             ratings → mysql over TCP (bytes, no HTTP calls)
  errors     about 1 % 404, 0.5 % 5xx (500; 503 with upstream_connection_failure; 504 with upstream_request_timeout),
             more on reviews → ratings
  proxies    every proxy sends its stats every 5 s: the heap grows and shrinks over ten minutes, and now and then a
             cluster has no healthy host for a flush (membership_healthy 0, none-healthy and panic counts)
Ctrl-C stops the traffic and meshsight.
`)

const report = setInterval(() => console.log(`demo: ${formatProgress(simulator.progress())}`), PROGRESS_EVERY_MS)

let stopping = false
const stop = async (reason: string) => {
  if (stopping) return
  stopping = true
  clearInterval(report)
  console.log(`demo: ${reason}: stopping the traffic, then meshsight …`)
  console.log(`demo: sent ${formatProgress(await simulator.stop())}`)
  if (meshsight.exitCode === null) meshsight.kill("SIGTERM")
  const code = await meshsightExit
  console.log(`demo: meshsight exited with ${code}`)
  process.exit(code === 0 ? 0 : 1)
}
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stop(signal))
void simulator.done.then(() => stop("the duration is over"))
void meshsightExit.then((code) => {
  if (stopping) return
  console.error(`demo: meshsight exited unexpectedly with ${code}`)
  void simulator.stop().then(() => process.exit(1))
})
