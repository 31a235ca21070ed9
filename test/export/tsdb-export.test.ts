// The Istio-standard metrics in real TSDBs: meshsight (its own process) takes the simulator's bookinfo traffic; a
// real Prometheus scrapes /metrics/mesh and receives remote write, a real VictoriaMetrics receives remote write.
// The queries Kiali's graph and Istio's dashboards issue must return exactly the calls meshsight counted, per edge
// and code, in all three.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, inboundHttpEntry, type Workload } from "../../sim/istio-entries.ts"
import { startSimulator, type SimulatorProgress } from "../../sim/simulator.ts"
import { sendAlsMessages } from "../support/als-client.ts"
import { parseExposition, type Sample } from "../support/exposition.ts"
import { getJson } from "../support/http-json.ts"
import { type MeshsightProcess, spawnMeshsight } from "../../testkit/meshsight-process.ts"
import { freePort } from "../../testkit/meshsight-process.ts"
import { startPrometheus, startVictoriaMetrics, type Tsdb } from "../../testkit/tsdb.ts"

const REPLICA = "replica-a"
let meshsight: MeshsightProcess
let prometheus: Tsdb
let victoria: Tsdb
let sent: SimulatorProgress
let exposition: Array<Sample>
let topology: any

/** A caller whose `app` label needs every escape, to see it arrive intact through both paths. */
const ODD_APP = 'we"ird\\app\nline ü🙂'
const odd: Workload = { name: "odd-1", namespace: "default", ip: "10.9.0.7", labels: { app: ODD_APP, version: "v1" }, workloadName: "odd" }
const oddTarget: Workload = { name: "sink-1", namespace: "default", ip: "10.9.0.8", labels: { app: "sink" }, workloadName: "sink" }

const until = async <A>(what: string, probe: () => Promise<A>, done: (a: A) => boolean, timeoutMs = 30_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const a = await probe()
    if (done(a)) return a
    if (Date.now() > deadline) throw new Error(`${what}: last ${JSON.stringify(a)}\n${meshsight.output().slice(-3000)}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

const clientSideCalls = (t: any): number =>
  t.edges.reduce((n: number, e: any) => n + (e.client?.calls ?? 0) + (e.client?.protocols.TCP ?? 0), 0)

/** Kiali's graph groups by these (plus the cluster labels); the edge key of this test. */
const EDGE = [
  "source_canonical_service",
  "source_workload_namespace",
  "destination_canonical_service",
  "destination_service_namespace",
  "response_code"
]
const edgeKey = (labels: Record<string, string>, by: ReadonlyArray<string>) => by.map((k) => labels[k] ?? "").join("|")

/** meshsight's own totals from /metrics/mesh, summed by `by`. */
const expected = (name: string, match: Record<string, string>, by: ReadonlyArray<string>) => {
  const out: Record<string, number> = {}
  for (const s of exposition) {
    if (s.name !== name || !Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue
    const key = edgeKey(s.labels, by)
    out[key] = (out[key] ?? 0) + s.value
  }
  return out
}

const byKey = (rows: Array<{ metric: Record<string, string>; value: [number, string] }>, by: ReadonlyArray<string>) =>
  Object.fromEntries(rows.map((r) => [edgeKey(r.metric, by), Math.round(Number(r.value[1]) * 1e6) / 1e6]))

/**
 * Prometheus' increase() extrapolates towards the range's ends; it cannot before a series' zero sample, and not
 * at all at the time of the last sample. So the query runs at the newest time every remote-written series has a
 * sample for: then it is exact.
 */
const lastCommonSampleTime = async (tsdb: Tsdb, selector: string) => Number((await tsdb.query(`min(timestamp(${selector}))`))[0].value[1])

beforeAll(async () => {
  const promPort = await freePort()
  const vmPort = await freePort()
  meshsight = await spawnMeshsight({
    MESHSIGHT_HTTP_ANALYZERS: "mx-mesh",
    MESHSIGHT_FLUSH_INTERVAL_MS: "100",
    MESHSIGHT_REMOTE_WRITE_URL: `http://127.0.0.1:${promPort}/api/v1/write, http://127.0.0.1:${vmPort}/api/v1/write`,
    MESHSIGHT_REMOTE_WRITE_INTERVAL_MS: "1000",
    MESHSIGHT_REPLICA: REPLICA
  })
  prometheus = await startPrometheus([{ job: "mesh", target: `127.0.0.1:${meshsight.httpPort}`, path: "/metrics/mesh" }], promPort)
  victoria = await startVictoriaMetrics(vmPort)

  const simulator = startSimulator({
    target: `127.0.0.1:${meshsight.grpcPort}`,
    rate: 200,
    durationS: 1.5,
    seed: 11,
    entriesPerMessage: 10,
    flushIntervalMs: 200
  })
  const oddCall = inboundHttpEntry(
    { startMs: Date.now(), durationMs: 12, authority: "sink:80", mtls: true },
    { client: odd, server: oddTarget, port: 80, host: "sink.default.svc.cluster.local" }
  )
  expect(
    (await sendAlsMessages(meshsight.grpcPort, [encodeAlsMessageJson(alsMessageJson({ http: [oddCall] }, { workload: oddTarget }))])).code
  ).toBe(0)
  sent = await simulator.done
  // Every call the simulator delivered is counted (on a loaded machine it may drop messages, as Envoy does when
  // its stream is congested: the comparisons below are with what meshsight counted, so they hold either way).
  let previous = -1
  topology = await until(
    "meshsight's counts settle",
    async () => (await getJson(meshsight.url, "/api/topology")).body,
    (t) => {
      const calls = clientSideCalls(t)
      const settled = calls === previous && calls > 0
      previous = calls
      return settled || (calls === sent.calls && sent.droppedMessages === 0)
    }
  )
  exposition = parseExposition(await (await fetch(`${meshsight.url}/metrics/mesh`)).text())
  const total = expected("istio_requests_total", {}, [])[""]
  // Converged: the last scrape and the last remote writes hold the final totals.
  for (const [tsdb, selector] of [
    [prometheus, `istio_requests_total{job="mesh"}`],
    [prometheus, `istio_requests_total{meshsight_replica="${REPLICA}"}`],
    [victoria, `istio_requests_total{meshsight_replica="${REPLICA}"}`]
  ] as const) {
    await until(
      `${selector} in ${tsdb.url}`,
      async () => Number((await tsdb.query(`sum(${selector})`))[0]?.value[1] ?? -1),
      (n) => n === total
    )
  }
}, 90_000)

afterAll(async () => {
  await meshsight?.stop()
  await prometheus?.remove()
  await victoria?.remove()
})

const REMOTE = `meshsight_replica="${REPLICA}"`

describe("Istio-standard metrics in Prometheus and VictoriaMetrics", () => {
  it("/metrics/mesh holds exactly the calls of meshsight's API, per edge and side", () => {
    expect(sent.requests).toBeGreaterThan(200)
    const named = (canonical: string, ns: string) => `${canonical}.${ns}`
    const seen = { destination: 0, source: 0 }
    for (const e of topology.edges) {
      for (const [reporter, side] of [
        ["destination", "server"],
        ["source", "client"]
      ] as const) {
        const calls = e[side]?.calls ?? 0
        const fromExport = exposition
          .filter((s) => s.name === "istio_requests_total" && s.labels.reporter === reporter)
          .filter((s) => named(s.labels.source_canonical_service, s.labels.source_workload_namespace) === e.source)
          .filter((s) => named(s.labels.destination_canonical_service, s.labels.destination_workload_namespace) === e.target)
          .reduce((n, s) => n + s.value, 0)
        // Istio's gateways do not report their inbound hop: that edge (UNKNOWN → gateway) has no Istio series.
        if (e.source === "UNKNOWN") expect(fromExport).toBe(0)
        else expect(fromExport, `${reporter} ${e.source} → ${e.target}`).toBe(calls)
        seen[reporter] += fromExport
      }
    }
    expect(seen.source).toBeGreaterThan(0)
    expect(seen.destination).toBeGreaterThan(0)
  })

  it("Kiali's request-count query returns the same edges and codes from the scrape and from remote write", async () => {
    const want = expected("istio_requests_total", { reporter: "destination" }, EDGE)
    expect(Object.keys(want).length, "edges × codes").toBeGreaterThan(5)
    const by = `sum by (${EDGE.join(", ")})`
    const scraped = byKey(await prometheus.query(`${by} (istio_requests_total{job="mesh", reporter="destination"})`), EDGE)
    expect(scraped).toEqual(want)
    const at = await lastCommonSampleTime(prometheus, `istio_requests_total{${REMOTE}}`)
    const written = byKey(
      await prometheus.query(`${by} (increase(istio_requests_total{${REMOTE}, reporter="destination"}[10m]))`, at),
      EDGE
    )
    expect(written).toEqual(want)
    const inVictoria = byKey(await victoria.query(`${by} (increase(istio_requests_total{${REMOTE}, reporter="destination"}[10m]))`), EDGE)
    expect(inVictoria).toEqual(want)
    // reporter="source" too: the calls only the caller saw, and the gateway's outbound hop.
    const wantSource = expected("istio_requests_total", { reporter: "source" }, EDGE)
    expect(byKey(await prometheus.query(`${by} (increase(istio_requests_total{${REMOTE}, reporter="source"}[10m]))`, at), EDGE)).toEqual(
      wantSource
    )
    expect(byKey(await victoria.query(`${by} (increase(istio_requests_total{${REMOTE}, reporter="source"}[10m]))`), EDGE)).toEqual(
      wantSource
    )
  })

  it("histogram_quantile over the duration buckets agrees between scrape, Prometheus and VictoriaMetrics", async () => {
    const q = (selector: string) => `histogram_quantile(0.9, sum by (le, destination_canonical_service) (${selector}))`
    const scraped = byKey(await prometheus.query(q(`istio_request_duration_milliseconds_bucket{job="mesh", reporter="destination"}`)), [
      "destination_canonical_service"
    ])
    const written = byKey(await prometheus.query(q(`istio_request_duration_milliseconds_bucket{${REMOTE}, reporter="destination"}`)), [
      "destination_canonical_service"
    ])
    const inVictoria = byKey(await victoria.query(q(`istio_request_duration_milliseconds_bucket{${REMOTE}, reporter="destination"}`)), [
      "destination_canonical_service"
    ])
    expect(Object.keys(scraped).sort()).toEqual(["details", "productpage", "ratings", "reviews", "sink"])
    for (const v of Object.values(scraped)) expect(v).toBeGreaterThan(0)
    expect(written).toEqual(scraped)
    // VictoriaMetrics interpolates within a bucket the same way; allow float noise only.
    for (const [k, v] of Object.entries(scraped)) expect(inVictoria[k]).toBeCloseTo(v, 6)
    const counts = await prometheus.query(`sum(istio_request_duration_milliseconds_count{${REMOTE}})`)
    expect(Number(counts[0].value[1])).toBe(expected("istio_requests_total", {}, [])[""])
  })

  it("TCP byte counters match meshsight's API for ratings → mysql, through both TSDBs", async () => {
    const edge = topology.edges.find((e: any) => e.source === "ratings.default" && e.target === "mysql.default")
    expect(edge.client.sentBytes).toBeGreaterThan(0)
    const at = await lastCommonSampleTime(prometheus, `istio_tcp_sent_bytes_total{${REMOTE}}`)
    const sum = (tsdb: Tsdb, metric: string, time?: number) =>
      tsdb
        .query(`sum(increase(${metric}{${REMOTE}, reporter="source", destination_canonical_service="mysql"}[10m]))`, time)
        .then((r) => Number(r[0].value[1]))
    expect(Math.round(await sum(prometheus, "istio_tcp_sent_bytes_total", at))).toBe(edge.client.sentBytes)
    expect(Math.round(await sum(prometheus, "istio_tcp_received_bytes_total", at))).toBe(edge.client.receivedBytes)
    expect(await sum(victoria, "istio_tcp_sent_bytes_total")).toBe(edge.client.sentBytes)
    expect(Math.round(await sum(prometheus, "istio_tcp_connections_opened_total", at))).toBe(edge.client.protocols.TCP)
  })

  it("the mTLS label: every sidecar-to-sidecar call in the simulation is mutual_tls on the destination side", async () => {
    const all = Number((await prometheus.query(`sum(istio_requests_total{job="mesh", reporter="destination"})`))[0].value[1])
    const mtls = Number(
      (await prometheus.query(`sum(istio_requests_total{job="mesh", reporter="destination", connection_security_policy="mutual_tls"})`))[0]
        .value[1]
    )
    expect(mtls).toBe(all)
    const unknown = await prometheus.query(
      `sum(istio_requests_total{job="mesh", reporter="source", connection_security_policy!="unknown"})`
    )
    expect(unknown).toEqual([])
  })

  it("label values with quotes, backslashes, newlines and UTF-8 arrive intact through scrape and remote write", async () => {
    for (const [tsdb, selector] of [
      [prometheus, `job="mesh"`],
      [prometheus, REMOTE],
      [victoria, REMOTE]
    ] as const) {
      const rows = await tsdb.query(`istio_requests_total{${selector}, source_app=${JSON.stringify(ODD_APP)}}`)
      expect(
        rows.map((r) => [r.metric.source_app, r.metric.destination_app, Number(r.value[1])]),
        `${tsdb.url} ${selector}`
      ).toEqual([[ODD_APP, "sink", 1]])
    }
  })

  it("every remote-written series carries meshsight_replica; meshsight counted the samples it sent", async () => {
    const without = await prometheus.query(`count({__name__=~"istio_.+", job!="mesh", meshsight_replica=""})`)
    expect(without).toEqual([])
    const own = parseExposition(await (await fetch(`${meshsight.url}/metrics`)).text())
    const sentSamples = own.filter((s) => s.name === "meshsight_remote_write_samples_sent_total")
    expect(sentSamples.map((s) => s.labels.endpoint).sort()).toEqual([prometheus.writeUrl, victoria.writeUrl].sort())
    for (const s of sentSamples) expect(s.value).toBeGreaterThan(0)
    expect(own.filter((s) => s.name === "meshsight_remote_write_samples_failed_total" && s.value > 0)).toEqual([])
  })
})
