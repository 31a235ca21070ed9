// MESHSIGHT_WORKERS=2, as a user runs it: meshsight as its own process, ALS over real gRPC on several connections
// (the cluster primary deals them to both workers), and the API and /metrics answering for all of it together —
// the same answers one process gives for the same traffic. A worker killed is started again; SIGTERM drains the
// workers into the store before the primary exits.
import { createServer as createHttpServer } from "node:http"
import { createServer } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, inboundHttpEntry, inboundTcpEntry, outboundHttpEntry, type Workload } from "../../sim/istio-entries.ts"
import { freePort, type MeshsightProcess, metricValue, runMeshsightToExit, spawnMeshsight } from "../../testkit/meshsight-process.ts"
import { sendAlsMessages } from "../support/als-client.ts"
import { childPids } from "../../testkit/child-pids.ts"
import { captureFrom } from "../support/envoy-metric-capture.ts"
import { getJson } from "../support/http-json.ts"
import { waitFor } from "../support/wait-for.ts"
import { type DecodedSeries, decodeWriteRequest } from "../support/write-request.ts"

const workload = (name: string, i: number): Workload => ({
  name: `${name}-0`,
  namespace: "shop",
  ip: `10.3.0.${i + 1}`,
  labels: { app: name },
  workloadName: name
})
const WORKLOADS = ["web", "cart", "pay", "ship", "auth", "db"].map(workload)
const CONNECTIONS = WORKLOADS.length
const MESSAGES_PER_CONNECTION = 6
const ENTRIES_PER_MESSAGE = 20

/** Each connection is one workload's sidecar: inbound calls from the others, outbound calls to them, and TCP. */
const trafficOf = (connection: number, startMs: number): Array<Uint8Array> => {
  const self = WORKLOADS[connection]
  const messages: Array<Uint8Array> = []
  for (let m = 0; m < MESSAGES_PER_CONNECTION; m++) {
    const http = Array.from({ length: ENTRIES_PER_MESSAGE }, (_, e) => {
      const other = WORKLOADS[(connection + 1 + ((m + e) % (CONNECTIONS - 1))) % CONNECTIONS]
      const call = {
        startMs: startMs + e,
        durationMs: 1 + ((connection * 37 + m * 11 + e * 7) % 900),
        code: e % 9 === 0 ? 503 : e % 13 === 0 ? 404 : 200,
        path: `/api/${e % 4}`,
        ...(e % 9 === 0 ? { responseFlags: { upstreamConnectionFailure: true } } : {})
      }
      return e % 3 === 0
        ? outboundHttpEntry(call, { client: self, server: other, port: 8080, host: `${other.workloadName}.shop.svc.cluster.local` })
        : inboundHttpEntry(call, { client: other, server: self, port: 8080, host: self.workloadName })
    })
    messages.push(encodeAlsMessageJson(alsMessageJson({ http }, m === 0 ? { workload: self } : undefined)))
  }
  const other = WORKLOADS[(connection + 1) % CONNECTIONS]
  const tcp = [
    inboundTcpEntry(
      { startMs, durationMs: 50, receivedBytes: 100 + connection, sentBytes: 2000 },
      { client: other, server: self, port: 5432, host: self.workloadName }
    )
  ]
  messages.push(encodeAlsMessageJson(alsMessageJson({ tcp })))
  return messages
}

const HTTP_ENTRIES = CONNECTIONS * MESSAGES_PER_CONNECTION * ENTRIES_PER_MESSAGE
const TCP_ENTRIES = CONNECTIONS

/** Every connection its own stream on its own HTTP/2 connection, all at once. */
const sendTraffic = (app: MeshsightProcess, startMs: number) =>
  Promise.all(
    Array.from({ length: CONNECTIONS }, (_, c) => sendAlsMessages(app.grpcPort, trafficOf(c, startMs), "v3", { ownConnection: true }))
  )

const metricsText = async (app: MeshsightProcess) => (await fetch(`${app.url}/metrics`)).text()
const COUNTERS = [
  'meshsight_als_entries_total{kind="http"}',
  'meshsight_als_entries_total{kind="tcp"}',
  "meshsight_als_messages_total",
  'meshsight_records_total{detect_point="client"}',
  'meshsight_records_total{detect_point="server"}',
  "meshsight_als_streams_total"
]

const serverCalls = (topology: { nodes: ReadonlyArray<{ metrics: { calls: number } | null }> }) =>
  topology.nodes.reduce((n, node) => n + (node.metrics?.calls ?? 0), 0)

/** What the API and /metrics say once every call has been flushed into the store. */
const answersFor = async (app: MeshsightProcess, startMs: number) => {
  const range = `start=${startMs - 60_000}&end=${startMs + 120_000}`
  const inbound = CONNECTIONS * MESSAGES_PER_CONNECTION * (ENTRIES_PER_MESSAGE - Math.ceil(ENTRIES_PER_MESSAGE / 3))
  // A flush can fall between a connection's HTTP messages and its last (TCP) one: wait for both in the store.
  type ServiceMetrics = { metrics: { calls: number; connections: number } | null }
  const total = (list: ReadonlyArray<ServiceMetrics>, of: "calls" | "connections") => list.reduce((n, s) => n + (s.metrics?.[of] ?? 0), 0)
  const services = await waitFor(
    "every inbound call and TCP connection in the store",
    async () => (await getJson(app.url, `/api/services?${range}`)).body,
    (s) => total(s.services, "calls") === inbound && total(s.services, "connections") === TCP_ENTRIES
  )
  const topology = (await getJson(app.url, `/api/topology?${range}`)).body
  expect(serverCalls(topology)).toBe(inbound)
  const text = await waitFor(
    "the counters of every entry",
    () => metricsText(app),
    (t) => metricValue(t, COUNTERS[0]) === HTTP_ENTRIES && metricValue(t, COUNTERS[1]) === TCP_ENTRIES
  )
  return {
    topology,
    services,
    endpoints: (await getJson(app.url, `/api/services/cart.shop/endpoints?${range}`)).body,
    instances: (await getJson(app.url, `/api/instance-topology?${range}`)).body,
    counters: Object.fromEntries(COUNTERS.map((c) => [c, metricValue(text, c)])),
    text
  }
}

let running: Array<MeshsightProcess> = []
const start = async (env: Record<string, string>) => {
  const app = await spawnMeshsight({ MESHSIGHT_FLUSH_INTERVAL_MS: "200", ...env })
  running.push(app)
  return app
}
afterEach(async () => {
  await Promise.all(running.map((app) => app.stop("SIGKILL")))
  running = []
})

describe("MESHSIGHT_WORKERS=2", () => {
  it("answers for both workers' traffic together, exactly as one process does", { timeout: 90_000 }, async () => {
    const startMs = Date.now() - 5_000
    // `persistence`: failed entries become error logs, which the workers forward to the primary's store.
    const env = { MESHSIGHT_HTTP_ANALYZERS: "mx-mesh,persistence" }
    const [one, two] = [await start({ ...env, MESHSIGHT_WORKERS: "1" }), await start({ ...env, MESHSIGHT_WORKERS: "2" })]
    const statuses = await Promise.all([sendTraffic(one, startMs), sendTraffic(two, startMs)])
    expect(statuses.flat().map((s) => s.code)).toEqual(new Array(2 * CONNECTIONS).fill(0))
    // A proxy's MetricsService stream, which a worker takes and the primary's proxies' store keeps.
    const proxy = WORKLOADS[1]
    for (const app of [one, two]) {
      expect((await sendAlsMessages(app.grpcPort, [captureFrom(proxy, "sidecar")], "v3", { service: "metrics" })).code).toBe(0)
    }
    const single = await answersFor(one, startMs)
    const workers = await answersFor(two, startMs)

    expect(workers.counters).toEqual({
      'meshsight_als_entries_total{kind="http"}': HTTP_ENTRIES,
      'meshsight_als_entries_total{kind="tcp"}': TCP_ENTRIES,
      meshsight_als_messages_total: CONNECTIONS * (MESSAGES_PER_CONNECTION + 1),
      'meshsight_records_total{detect_point="client"}': single.counters['meshsight_records_total{detect_point="client"}'],
      'meshsight_records_total{detect_point="server"}': single.counters['meshsight_records_total{detect_point="server"}'],
      meshsight_als_streams_total: CONNECTIONS
    })
    expect(workers.counters).toEqual(single.counters)
    expect(workers.services).toEqual(single.services)
    expect(workers.topology).toEqual(single.topology)
    expect(workers.endpoints).toEqual(single.endpoints)
    expect(workers.instances).toEqual(single.instances)
    expect(workers.topology.edges.length).toBeGreaterThan(0)
    // The error logs: the same logs (their ids and so their order among equal times may differ).
    const logsOf = async (app: MeshsightProcess) => {
      const { body } = await getJson(app.url, "/api/logs?limit=500")
      return (body.logs as Array<Record<string, unknown>>).map(({ id: _, ...log }) => JSON.stringify(log)).sort()
    }
    const logsOne = await logsOf(one)
    expect(logsOne.length).toBeGreaterThan(50)
    expect(await logsOf(two)).toEqual(logsOne)
    // The proxy's MetricsService data.
    const proxyPath = `/api/services/${proxy.workloadName}.${proxy.namespace}/instances/${proxy.name}/proxy?${`start=${startMs - 60_000}&end=${startMs + 120_000}`}`
    const proxyOne = await waitFor(
      "the proxy's metrics",
      () => getJson(one.url, proxyPath),
      (r) => r.status === 200
    )
    const proxyTwo = await waitFor(
      "the proxy's metrics",
      () => getJson(two.url, proxyPath),
      (r) => r.status === 200
    )
    // All but when each process received it.
    expect({ ...proxyTwo.body, lastSeen: 0 }).toEqual({ ...proxyOne.body, lastSeen: 0 })
    expect(proxyOne.body.metrics.length).toBeGreaterThan(0)
    expect(metricValue(await metricsText(two), "meshsight_proxy_instances")).toBe(1)
    // The Istio-standard metrics: each worker's series, added up by the primary, are the one process's.
    const meshLines = async (app: MeshsightProcess) => (await (await fetch(`${app.url}/metrics/mesh`)).text()).split("\n").sort()
    const [meshOne, meshTwo] = [await meshLines(one), await meshLines(two)]
    expect(meshOne.filter((l) => l.startsWith("istio_requests_total{")).length).toBeGreaterThan(10)
    expect(meshTwo).toEqual(meshOne)
    // Label sets held (one a line of istio_requests_total or istio_tcp_sent_bytes_total), summed over the workers
    // (no label set is in both here: each sidecar's connection has one worker), and not reset by the primary's own
    // (empty) export. The gauge follows every 5 s.
    const labelSets = meshOne.filter((l) => /^istio_(requests|tcp_sent_bytes)_total\{/.test(l)).length
    for (const app of [one, two]) {
      await waitFor(
        "the label-set gauge",
        () => metricsText(app),
        (t) => metricValue(t, "meshsight_mesh_series") === labelSets,
        15_000
      )
    }
    // Both workers took connections, and their shares add up.
    const perWorker = [0, 1].map((w) => metricValue(workers.text, `meshsight_worker_entries_total{worker="${w}"}`))
    expect(perWorker.every((n) => n > 0)).toBe(true)
    expect(perWorker[0] + perWorker[1]).toBe(HTTP_ENTRIES + TCP_ENTRIES)
    // The streams have ended: the gauge summed over workers is back to 0.
    await waitFor(
      "no stream open",
      () => metricsText(two),
      (t) => metricValue(t, "meshsight_als_streams_active") === 0
    )
  })

  it("remote-writes each worker's series under its own replica, the proxies' gauges under the primary's", { timeout: 90_000 }, async () => {
    // The latest sample of every series received, by its labels (meshsight_replica included).
    const latest = new Map<string, DecodedSeries>()
    const sink = createHttpServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        for (const s of decodeWriteRequest(Buffer.concat(chunks))) latest.set(JSON.stringify(s.labels), s)
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve))
    try {
      const app = await start({
        MESHSIGHT_WORKERS: "2",
        MESHSIGHT_REPLICA: "r",
        MESHSIGHT_REMOTE_WRITE_URL: `http://127.0.0.1:${(sink.address() as { port: number }).port}/api/v1/write`,
        MESHSIGHT_REMOTE_WRITE_INTERVAL_MS: "500"
      })
      const startMs = Date.now() - 5_000
      await sendTraffic(app, startMs)
      expect((await sendAlsMessages(app.grpcPort, [captureFrom(WORKLOADS[0], "sidecar")], "v3", { service: "metrics" })).code).toBe(0)
      await answersFor(app, startMs)
      const scraped = (await (await fetch(`${app.url}/metrics/mesh`)).text())
        .split("\n")
        .filter((l) => l.startsWith("istio_requests_total{"))
        .reduce((n, l) => n + Number(l.split(" ").pop()), 0)
      const sent = (name: string) => [...latest.values()].filter((s) => s.labels.__name__ === name)
      const requestsSent = () => sent("istio_requests_total").reduce((n, s) => n + s.samples[s.samples.length - 1][0], 0)
      // Summed over meshsight_replica, the remote-written requests are what /metrics/mesh shows.
      await waitFor("every request remote-written", requestsSent, (n) => n === scraped, 20_000)
      expect(new Set(sent("istio_requests_total").map((s) => s.labels.meshsight_replica))).toEqual(new Set(["r-w0", "r-w1"]))
      await waitFor(
        "the proxy's gauges remote-written",
        () => sent("envoy_heap_memory_used").length,
        (n) => n > 0,
        20_000
      )
      expect(new Set(sent("envoy_heap_memory_used").map((s) => s.labels.meshsight_replica))).toEqual(new Set(["r"]))
    } finally {
      sink.close()
    }
  })

  it("starts a killed worker again, logs it, and keeps serving", { timeout: 90_000 }, async () => {
    const app = await start({ MESHSIGHT_WORKERS: "2" })
    const before = childPids(app.child.pid!)
    expect(before).toHaveLength(2)
    process.kill(before[0], "SIGKILL")
    await waitFor(
      "the worker started again",
      () => childPids(app.child.pid!),
      (pids) => pids.length === 2 && !pids.includes(before[0]),
      30_000
    )
    expect(app.output()).toMatch(new RegExp(`worker \\d \\(pid ${before[0]}\\) exited unexpectedly \\(signal SIGKILL\\)`))
    await waitFor(
      "ready again",
      async () => (await fetch(`${app.url}/readyz`)).status,
      (s) => s === 200,
      30_000
    )
    expect(metricValue(await metricsText(app), "meshsight_worker_restarts_total")).toBe(1)

    const startMs = Date.now() - 5_000
    expect((await sendTraffic(app, startMs)).map((s) => s.code)).toEqual(new Array(CONNECTIONS).fill(0))
    const answers = await answersFor(app, startMs)
    expect(answers.counters['meshsight_als_entries_total{kind="http"}']).toBe(HTTP_ENTRIES)
    const perWorker = [0, 1].map((w) => metricValue(answers.text, `meshsight_worker_entries_total{worker="${w}"}`))
    expect(perWorker.every((n) => n > 0)).toBe(true)
  })

  it("stops start-up with the workers' own reason when they cannot listen", { timeout: 60_000 }, async () => {
    const taken = createServer()
    const port = await freePort()
    await new Promise<void>((resolve) => taken.listen(port, "127.0.0.1", resolve))
    try {
      const { code, output } = await runMeshsightToExit({
        MESHSIGHT_WORKERS: "2",
        MESHSIGHT_GRPC_ADDRESS: `127.0.0.1:${port}`,
        MESHSIGHT_HTTP_HOST: "127.0.0.1",
        MESHSIGHT_HTTP_PORT: String(await freePort())
      })
      expect(code).toBe(1)
      expect(output).toMatch(new RegExp(`cannot listen on gRPC 127\\.0\\.0\\.1:${port}`))
      expect(output).toMatch(/meshsight: worker process \d stopped while starting \(exit code 1\)/)
    } finally {
      taken.close()
    }
  })

  it("on SIGTERM stops the workers, whose final flushes reach the store, then exits 0", { timeout: 90_000 }, async () => {
    // A long flush interval: only the workers' final flushes can bring these calls to the primary.
    const app = await start({ MESHSIGHT_WORKERS: "2", MESHSIGHT_FLUSH_INTERVAL_MS: "60000" })
    // Each call is answered once the worker has processed its last message.
    await sendTraffic(app, Date.now() - 5_000)
    expect(metricValue(await metricsText(app), 'meshsight_als_entries_total{kind="http"}')).toBe(0)
    expect(await app.stop("SIGTERM")).toBe(0)
    const log = app.output()
    const flushes = [...log.matchAll(/final flush: (\d+) pending series stored/g)].map((m) => Number(m[1]))
    expect(flushes).toHaveLength(2)
    expect(flushes.every((n) => n > 0)).toBe(true)
    const stored = log.match(/workers stopped \(2\); the store holds (\d+) series/)
    expect(stored).not.toBeNull()
    // What the workers sent is what the store took: it was empty before (nothing was flushed earlier), and no
    // series is in both flushes (a workload's server-side series and its client-side relations come from its own
    // sidecar's connection only, which one worker held).
    expect(Number(stored![1])).toBe(flushes[0] + flushes[1])
    expect(log.lastIndexOf("final flush")).toBeLessThan(log.indexOf("workers stopped (2)"))
  })
})
