// /metrics scraped by a real Prometheus server (Debian's `prometheus`, installed by scripts/ensure-system-deps.ts):
// the exposition must parse, and the counters Prometheus stores must be the ones meshsight counted.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { sendAlsMessages } from "../support/als-client.ts"
import { ALS_FIXTURES, fixtureBytes } from "../support/fixtures.ts"
import { freePort, type MeshsightProcess, metricValue, spawnMeshsight } from "../../testkit/meshsight-process.ts"

const PROMETHEUS = "/usr/bin/prometheus"

let meshsight: MeshsightProcess
let prometheus: ChildProcess
let prometheusUrl: string
let dataDir: string
let prometheusLog = ""

const promQuery = async (expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> => {
  const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)
  const body = (await res.json()) as { status: string; data: { result: Array<any> } }
  expect(body.status, expr).toBe("success")
  return body.data.result
}

/** Polls until Prometheus has scraped meshsight after `since` (seconds), returning the target's state. */
const scrapedAfter = async (since: number) => {
  const deadline = Date.now() + 20_000
  for (;;) {
    const res = await fetch(`${prometheusUrl}/api/v1/targets`).catch(() => undefined)
    if (res?.ok) {
      const target = ((await res.json()) as any).data.activeTargets[0]
      if (target && Date.parse(target.lastScrape) / 1000 > since && target.health !== "unknown") return target
    }
    if (Date.now() > deadline) throw new Error(`Prometheus did not scrape meshsight in time:\n${prometheusLog}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

beforeAll(async () => {
  meshsight = await spawnMeshsight({ MESHSIGHT_HTTP_ANALYZERS: "mx-mesh" })
  dataDir = mkdtempSync(join(tmpdir(), "meshsight-prometheus-"))
  const config = join(dataDir, "prometheus.yml")
  writeFileSync(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "scrape_configs:",
      "  - job_name: meshsight",
      "    static_configs:",
      `      - targets: ["127.0.0.1:${meshsight.httpPort}"]`
    ].join("\n")
  )
  const port = await freePort()
  prometheusUrl = `http://127.0.0.1:${port}`
  prometheus = spawn(
    PROMETHEUS,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dataDir, "data")}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ["ignore", "pipe", "pipe"] }
  )
  prometheus.stdout!.on("data", (d) => (prometheusLog += d))
  prometheus.stderr!.on("data", (d) => (prometheusLog += d))
})

afterAll(async () => {
  prometheus?.kill("SIGTERM")
  await new Promise((r) => prometheus?.once("exit", r))
  await meshsight?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

describe("/metrics scraped by Prometheus", () => {
  it("parses, and holds the same stream, message and entry counts meshsight reports", async () => {
    for (const name of ALS_FIXTURES) {
      expect((await sendAlsMessages(meshsight.grpcPort, [fixtureBytes(name)])).code).toBe(0)
    }
    // A garbage stream adds a counted, labelled failure to the exposition.
    await sendAlsMessages(meshsight.grpcPort, [new Uint8Array([0x0a, 0xff, 0xff])])
    const exposition = await (await fetch(`${meshsight.url}/metrics`)).text()
    const target = await scrapedAfter(Date.now() / 1000)
    expect(target.health, target.lastError).toBe("up")
    expect(target.lastError).toBe("")

    const stored = async (expr: string) => Number((await promQuery(expr))[0]?.value[1] ?? Number.NaN)
    const entries = metricValue(exposition, 'meshsight_als_entries_total{kind="http"}')
    expect(entries).toBeGreaterThan(0)
    expect(await stored('meshsight_als_entries_total{kind="http"}')).toBe(entries)
    // The captured messages carry no Istio node metadata, so mx-mesh cannot name the local side.
    expect(await stored('meshsight_identity_misses_total{side="local"}')).toBe(entries)
    expect(await stored("meshsight_als_messages_total")).toBe(metricValue(exposition, "meshsight_als_messages_total"))
    expect(await stored("meshsight_als_streams_total")).toBe(ALS_FIXTURES.length + 1)
    const failures = await promQuery("meshsight_als_stream_errors_total")
    expect(failures.map((f) => [f.metric.reason, Number(f.value[1])])).toStrictEqual([["malformed_message", 1]])
    expect(await stored("meshsight_als_streams_active")).toBe(0)
  })
})
