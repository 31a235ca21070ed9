// The TSDB goes away in the middle of a run and comes back: meshsight keeps ingesting at full speed, its small
// remote-write queue drops the oldest samples (counted), retries until the TSDB is back, and afterwards the totals
// in the TSDB are exactly meshsight's again (the counters are cumulative). A real VictoriaMetrics, stopped and
// restarted on the same port and data.
import { createServer } from "node:http"
import { afterAll, describe, expect, it } from "vitest"
import { startSimulator } from "../../sim/simulator.ts"
import { parseExposition, sumOf } from "../support/exposition.ts"
import { getJson } from "../support/http-json.ts"
import { startMeshsightAsync } from "../support/meshsight.ts"
import { freePort, type MeshsightProcess, spawnMeshsight } from "../../testkit/meshsight-process.ts"
import { startVictoriaMetrics, type Tsdb } from "../../testkit/tsdb.ts"
import { decodeWriteRequest } from "../support/write-request.ts"

let meshsight: MeshsightProcess | undefined
let victoria: Tsdb | undefined

afterAll(async () => {
  await meshsight?.stop()
  await victoria?.remove()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const scrape = async (path: string) => parseExposition(await (await fetch(`${meshsight!.url}${path}`)).text())
const meshRequests = async () => sumOf(await scrape("/metrics/mesh"), "istio_requests_total")
const own = async (name: string) => sumOf(await scrape("/metrics"), name)

const clientSideCalls = (t: any): number =>
  t.edges.reduce((n: number, e: any) => n + (e.client?.calls ?? 0) + (e.client?.protocols.TCP ?? 0), 0)

describe("remote write through a TSDB outage", () => {
  it("drops the oldest samples past the queue bound, never stalls ingest, and is exact again after the TSDB returns", async () => {
    const vmPort = await freePort()
    victoria = await startVictoriaMetrics(vmPort)
    meshsight = await spawnMeshsight({
      MESHSIGHT_FLUSH_INTERVAL_MS: "100",
      MESHSIGHT_REMOTE_WRITE_URL: `http://127.0.0.1:${vmPort}/api/v1/write`,
      MESHSIGHT_REMOTE_WRITE_INTERVAL_MS: "500",
      MESHSIGHT_REMOTE_WRITE_TIMEOUT_MS: "1000",
      // About two snapshots of the simulated bookinfo mesh: a few seconds away overflow it.
      MESHSIGHT_REMOTE_WRITE_QUEUE_SAMPLES: "4000",
      MESHSIGHT_REPLICA: "outage"
    })
    const simulator = startSimulator({
      target: `127.0.0.1:${meshsight.grpcPort}`,
      rate: 60,
      durationS: 12,
      seed: 5,
      entriesPerMessage: 10,
      flushIntervalMs: 200
    })

    await sleep(2500)
    await victoria.stop()
    const atOutage = await meshRequests()
    await sleep(7000)
    // Ingest went on while the TSDB was away.
    const duringOutage = await meshRequests()
    expect(duringOutage).toBeGreaterThan(atOutage + 300)
    expect(await own("meshsight_remote_write_retries_total")).toBeGreaterThan(0)
    await victoria.restart()

    const sent = await simulator.done
    expect(sent.droppedMessages).toBe(0)
    for (const deadline = Date.now() + 10_000; ; ) {
      const t = (await getJson(meshsight.url, "/api/topology")).body
      if (clientSideCalls(t) === sent.calls) break
      if (Date.now() > deadline) throw new Error(`meshsight counted ${clientSideCalls(t)} of ${sent.calls} calls`)
      await sleep(200)
    }

    const total = await meshRequests()
    const inTsdb = async (expr: string) => Number((await victoria!.query(expr))[0]?.value[1] ?? -1)
    for (const deadline = Date.now() + 15_000; ; ) {
      if ((await inTsdb(`sum(istio_requests_total{meshsight_replica="outage"})`)) === total) break
      if (Date.now() > deadline) throw new Error(`VictoriaMetrics never reached ${total}:\n${victoria.log().slice(-2000)}`)
      await sleep(250)
    }
    // The totals are right again (the loop above). increase() over the run is too for the series that began
    // before the outage; a series whose first requests (with its zero sample) were dropped starts later in the
    // TSDB, so the whole-run increase can only be short, never over.
    expect(await inTsdb(`sum(increase(istio_requests_total{meshsight_replica="outage"}[10m]))`)).toBeLessThanOrEqual(total)
    expect(await own("meshsight_remote_write_samples_dropped_total")).toBeGreaterThan(0)
    expect(await own("meshsight_remote_write_samples_failed_total")).toBe(0)
    const lastSuccess = await own("meshsight_remote_write_last_success_timestamp_seconds")
    expect(Date.now() / 1000 - lastSuccess).toBeLessThan(10)
  }, 60_000)
})

describe("a remote-write endpoint that never answers", () => {
  it("times out and retries in its own fiber while ingest goes on", async () => {
    const hanging = createServer(() => {}) // reads requests, never responds
    await new Promise<void>((r) => hanging.listen(0, "127.0.0.1", r))
    const port = (hanging.address() as { port: number }).port
    const app = await startMeshsightAsync({
      config: {
        MESHSIGHT_FLUSH_INTERVAL_MS: "100",
        MESHSIGHT_REMOTE_WRITE_URL: String([`http://127.0.0.1:${port}/api/v1/write`]),
        MESHSIGHT_REMOTE_WRITE_INTERVAL_MS: "200",
        MESHSIGHT_REMOTE_WRITE_TIMEOUT_MS: "300"
      }
    })
    try {
      const simulator = startSimulator({
        target: `127.0.0.1:${app.alsPort}`,
        rate: 50,
        durationS: 2,
        seed: 3,
        entriesPerMessage: 10,
        flushIntervalMs: 100
      })
      const sent = await simulator.done
      expect(sent.droppedMessages).toBe(0)
      await sleep(300)
      const metrics = (path: string) =>
        fetch(`${app.url}${path}`)
          .then((r) => r.text())
          .then(parseExposition)
      const t = (await getJson(app.url, "/api/topology")).body
      expect(clientSideCalls(t)).toBe(sent.calls)
      expect(sumOf(await metrics("/metrics/mesh"), "istio_requests_total")).toBeGreaterThan(0)
      const self = await metrics("/metrics")
      const endpoint = { endpoint: `http://127.0.0.1:${port}/api/v1/write` }
      expect(sumOf(self, "meshsight_remote_write_retries_total", endpoint)).toBeGreaterThan(0)
      expect(sumOf(self, "meshsight_remote_write_samples_sent_total", endpoint)).toBe(0)
      expect(sumOf(self, "meshsight_remote_write_queue_samples", endpoint)).toBeGreaterThan(0)
    } finally {
      await app.stop()
      hanging.closeAllConnections()
      hanging.close()
    }
  }, 30_000)
})

describe("a remote-write endpoint that refuses with 400", () => {
  it("counts the refused samples, does not retry them, and logs the refusal once", async () => {
    let requests = 0
    const refusing = createServer((req, res) => {
      requests++
      req.resume()
      req.on("end", () => res.writeHead(400).end("out of bounds"))
    })
    await new Promise<void>((r) => refusing.listen(0, "127.0.0.1", r))
    const port = (refusing.address() as { port: number }).port
    const app = await startMeshsightAsync({
      config: { MESHSIGHT_REMOTE_WRITE_URL: String([`http://127.0.0.1:${port}/api/v1/write`]), MESHSIGHT_REMOTE_WRITE_INTERVAL_MS: "200" }
    })
    try {
      const simulator = startSimulator({
        target: `127.0.0.1:${app.alsPort}`,
        rate: 50,
        durationS: 1,
        seed: 4,
        entriesPerMessage: 10,
        flushIntervalMs: 100
      })
      await simulator.done
      await sleep(1500)
      const self = parseExposition(await (await fetch(`${app.url}/metrics`)).text())
      // meshsight's counters live for the process: this endpoint's only (the tests share a process).
      const endpoint = { endpoint: `http://127.0.0.1:${port}/api/v1/write` }
      expect(sumOf(self, "meshsight_remote_write_samples_failed_total", endpoint)).toBeGreaterThan(0)
      expect(sumOf(self, "meshsight_remote_write_retries_total", endpoint)).toBe(0)
      expect(sumOf(self, "meshsight_remote_write_samples_sent_total", endpoint)).toBe(0)
      // One request per snapshot chunk, none repeated: every request's samples were counted as failed once.
      expect(requests).toBeGreaterThan(1)
    } finally {
      await app.stop()
      refusing.closeAllConnections()
      refusing.close()
    }
  }, 30_000)
})

describe("remote write at shutdown", () => {
  it("sends one last snapshot with the final totals", async () => {
    const bodies: Array<Buffer> = []
    const capture = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        bodies.push(Buffer.concat(chunks))
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((r) => capture.listen(0, "127.0.0.1", r))
    const port = (capture.address() as { port: number }).port
    // An interval far past the test: only the shutdown snapshot can carry the calls.
    const app = await startMeshsightAsync({
      config: {
        MESHSIGHT_REMOTE_WRITE_URL: String([`http://127.0.0.1:${port}/api/v1/write`]),
        MESHSIGHT_REMOTE_WRITE_INTERVAL_MS: "600000"
      }
    })
    try {
      const sent = await startSimulator({
        target: `127.0.0.1:${app.alsPort}`,
        rate: 50,
        durationS: 1,
        seed: 6,
        entriesPerMessage: 10,
        flushIntervalMs: 100
      }).done
      expect(sent.requests).toBeGreaterThan(10)
      const total = sumOf(parseExposition(await (await fetch(`${app.url}/metrics/mesh`)).text()), "istio_requests_total")
      expect(bodies).toEqual([])
      await app.stop()
      const written = bodies.flatMap((b) => decodeWriteRequest(b)).filter((ts) => ts.labels.__name__ === "istio_requests_total")
      expect(written.reduce((n, ts) => n + ts.samples.at(-1)![0], 0)).toBe(total)
    } finally {
      capture.closeAllConnections()
      capture.close()
    }
  }, 30_000)
})
