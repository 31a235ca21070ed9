// Real time-series databases for the export tests, on free loopback ports with throw-away data folders:
// Debian's `prometheus` (scraping and receiving remote write) and `victoria-metrics` (receiving remote write).
// Both binaries are installed by scripts/ensure-system-deps.ts.
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "./meshsight-process.ts"

export interface Tsdb {
  readonly url: string
  readonly port: number
  /** Where remote write goes. */
  readonly writeUrl: string
  readonly log: () => string
  /** Instant query; `time` in epoch seconds (default now). */
  readonly query: (expr: string, time?: number) => Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>
  readonly stop: () => Promise<void>
  /** Starts the same binary again on the same port and data (after `stop`). */
  readonly restart: () => Promise<void>
  /** The final stop: also removes the data folder. */
  readonly remove: () => Promise<void>
}

const waitHealthy = async (url: string, log: () => string) => {
  const deadline = Date.now() + 20_000
  for (;;) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false
    )
    if (ok) return
    if (Date.now() > deadline) throw new Error(`${url} did not come up:\n${log()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const startTsdb = async (
  binary: string,
  args: (port: number, dir: string) => Array<string>,
  paths: { readonly health: string; readonly write: string },
  port?: number
): Promise<Tsdb> => {
  const p = port ?? (await freePort())
  const dir = mkdtempSync(join(tmpdir(), "meshsight-tsdb-"))
  const url = `http://127.0.0.1:${p}`
  let output = ""
  let child: ChildProcess
  const launch = async () => {
    child = spawn(binary, args(p, dir), { stdio: ["ignore", "pipe", "pipe"] })
    child.stdout!.on("data", (d) => (output += d))
    child.stderr!.on("data", (d) => (output += d))
    await waitHealthy(`${url}${paths.health}`, () => output)
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once("exit", r))
    child.kill("SIGTERM")
    await exited
  }
  await launch()
  return {
    url,
    port: p,
    writeUrl: `${url}${paths.write}`,
    log: () => output,
    query: async (expr, time) => {
      const params = new URLSearchParams({ query: expr, ...(time !== undefined ? { time: String(time) } : {}) })
      const res = await fetch(`${url}/api/v1/query?${params}`)
      const body = (await res.json()) as { status: string; error?: string; data: { result: Array<any> } }
      if (body.status !== "success") throw new Error(`${expr}: ${body.error}`)
      return body.data.result
    },
    stop: async () => {
      await stop()
      output += "\n--- stopped ---\n"
    },
    restart: launch,
    remove: async () => {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** Prometheus with the remote-write receiver, scraping `scrapeTargets` (job name → `host:port` and path) every second. */
export const startPrometheus = (
  scrapes: ReadonlyArray<{ readonly job: string; readonly target: string; readonly path: string }>,
  port?: number
) =>
  startTsdb(
    "/usr/bin/prometheus",
    (port, dir) => {
      const config = join(dir, "prometheus.yml")
      writeFileSync(
        config,
        [
          "global:",
          "  scrape_interval: 1s",
          // meshsight's late records of a minute already written arrive as out-of-order samples (docs/scale-out.md).
          "storage:",
          "  tsdb:",
          "    out_of_order_time_window: 1h",
          "scrape_configs:",
          ...scrapes.flatMap((s) => [
            `  - job_name: ${s.job}`,
            `    metrics_path: ${s.path}`,
            "    static_configs:",
            `      - targets: ["${s.target}"]`
          ])
        ].join("\n")
      )
      return [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--web.enable-remote-write-receiver"
      ]
    },
    { health: "/-/ready", write: "/api/v1/write" },
    port
  )

/** VictoriaMetrics answering queries on fresh data at once (no latency offset, no result cache). */
export const startVictoriaMetrics = (port?: number) =>
  startTsdb(
    "/usr/bin/victoria-metrics",
    (p, dir) => [
      `-httpListenAddr=127.0.0.1:${p}`,
      `-storageDataPath=${join(dir, "data")}`,
      "-retentionPeriod=1d",
      "-search.latencyOffset=0s",
      "-search.disableCache"
    ],
    { health: "/health", write: "/api/v1/write" },
    port
  )
