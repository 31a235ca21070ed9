// Scale-out (docs/scale-out.md): three meshsight processes in storage mode `prometheus` share a real Prometheus
// and a real VictoriaMetrics; the mesh's streams are dealt over the three, and one in-memory meshsight gets them
// all. Every replica — and a fourth process reading VictoriaMetrics that got no traffic at all — must answer
// exactly what the single in-memory meshsight answers. A replica SIGKILLed and restarted changes nothing; with the
// TSDB away the API answers 503 with the reason while ingest goes on, and once it is back the totals are right.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { minuteOf } from "../../src/domain/minute.ts"
import { type MeshsightProcess, spawnMeshsight } from "../../testkit/meshsight-process.ts"
import { sendAlsMessages } from "../support/als-client.ts"
import { getJson } from "../support/http-json.ts"
import { startPrometheus, startVictoriaMetrics, type Tsdb } from "../../testkit/tsdb.ts"
import { waitFor } from "../support/wait-for.ts"
import { meshMessages } from "./mesh-traffic.ts"

const MINUTE = 60_000
const now = minuteOf(Date.now())
/** Five whole minutes, each over well before the test sends it. */
const MINUTES = [8, 7, 6, 5, 4].map((k) => now - k * MINUTE)
const range = `start=${now - 10 * MINUTE}&end=${now}`

/** What the UI and API clients ask; each must be equal from every replica and the single in-memory process. */
const PATHS = [
  `/api/services?${range}`,
  `/api/services?${range}&namespace=ops&limit=1`,
  `/api/topology?${range}`,
  `/api/topology?${range}&namespace=ops`,
  `/api/instance-topology?${range}`,
  `/api/services/cart.shop/instances?${range}`,
  `/api/services/cart.shop/endpoints?${range}`,
  `/api/services/stock.ops/topology?${range}`,
  `/api/series?scope=service&service=stock.ops&${range}`,
  `/api/series?scope=serviceRelation&source=web.shop&target=cart.shop&detectPoint=client&${range}`,
  `/api/series?scope=instance&service=db.ops&instance=db-1&${range}`,
  `/api/series?scope=endpoint&service=cart.shop&endpoint=${encodeURIComponent("GET:/api/cart/1")}&${range}`,
  `/api/services/nobody/instances?${range}`
]

let prometheus: Tsdb
let victoria: Tsdb
let memory: MeshsightProcess
let replicas: Array<MeshsightProcess>
let vmReader: MeshsightProcess

const replicaEnv = (name: string, tsdb: () => Tsdb, writeTo: ReadonlyArray<() => Tsdb>) => () => ({
  MESHSIGHT_HTTP_ANALYZERS: "mx-mesh",
  MESHSIGHT_TCP_ANALYZERS: "mx-mesh",
  MESHSIGHT_FLUSH_INTERVAL_MS: "100",
  MESHSIGHT_STORAGE: "prometheus",
  MESHSIGHT_PROMETHEUS_URL: tsdb().url,
  MESHSIGHT_REMOTE_WRITE_URL: writeTo.map((t) => t().writeUrl).join(","),
  MESHSIGHT_REMOTE_WRITE_INTERVAL_MS: "1000",
  MESHSIGHT_MINUTE_WRITE_GRACE_MS: "1000",
  MESHSIGHT_MINUTE_WRITE_CHECK_MS: "200",
  MESHSIGHT_REPLICA: name
})
const envOf = ["a", "b", "c"].map((name) => replicaEnv(name, () => prometheus, [() => prometheus, () => victoria]))

const answers = async (p: MeshsightProcess) => Promise.all(PATHS.map((path) => getJson(p.url, path)))

/** Deals the proxies' streams over the processes: proxy i's stream to process i mod n, as a Service would. */
const deal = async (streams: ReadonlyArray<ReadonlyArray<Uint8Array>>, to: ReadonlyArray<MeshsightProcess>) => {
  const statuses = await Promise.all(streams.map((messages, i) => sendAlsMessages(to[i % to.length].grpcPort, messages)))
  for (const s of statuses) expect(s.code).toBe(0)
}

/**
 * Waits until `p` answers every path exactly as the in-memory meshsight does, and returns those answers. Both are
 * asked each time: the in-memory process also needs its flush before it shows what was just sent.
 */
const sameAsMemory = async (p: MeshsightProcess, what: string) => {
  const both = () => Promise.all([answers(memory), answers(p)])
  const [expected] = await waitFor(
    `${what} to answer as the in-memory meshsight`,
    both,
    ([want, got]) => JSON.stringify(got) === JSON.stringify(want),
    45_000,
    250
  ).catch(async (e) => {
    // The first difference, readably.
    const [want, got] = await both()
    PATHS.forEach((path, i) => expect({ path, ...got[i] }).toEqual({ path, ...want[i] }))
    throw e
  })
  return expected
}

beforeAll(async () => {
  ;[prometheus, victoria] = await Promise.all([startPrometheus([]), startVictoriaMetrics()])
  ;[memory, vmReader, ...replicas] = await Promise.all([
    spawnMeshsight({ MESHSIGHT_HTTP_ANALYZERS: "mx-mesh", MESHSIGHT_TCP_ANALYZERS: "mx-mesh", MESHSIGHT_FLUSH_INTERVAL_MS: "100" }),
    spawnMeshsight(replicaEnv("reader", () => victoria, [() => victoria])()),
    ...envOf.map((env) => spawnMeshsight(env()))
  ])
  const messages = meshMessages(MINUTES, 60, 7)
  await Promise.all([deal(messages, [memory]), deal(messages, replicas)])
  // The memory process has everything once its topology stops changing (its flush is 100 ms).
  let previous = ""
  await waitFor(
    "the in-memory meshsight to settle",
    async () => JSON.stringify(await answers(memory)),
    (a) => {
      const settled = a === previous
      previous = a
      return settled && a.includes('"calls"')
    },
    20_000,
    300
  )
}, 120_000)

afterAll(async () => {
  await Promise.all([memory, vmReader, ...(replicas ?? [])].map((p) => p?.stop()))
  await Promise.all([prometheus?.remove(), victoria?.remove()])
})

describe("three replicas over one TSDB", () => {
  it("every replica answers for the whole mesh exactly as one in-memory meshsight", async () => {
    const expected = await sameAsMemory(replicas[0], "replica a")
    for (const [i, r] of replicas.slice(1).entries()) await sameAsMemory(r, `replica ${"bc"[i]}`)
    // The comparison is not vacuous: the mesh's calls are all there, errors and TCP included.
    const topology = expected[2].body
    const calls = topology.edges.reduce((n: number, e: any) => n + (e.client?.calls ?? 0), 0)
    expect(calls).toBe(5 * 60)
    expect(topology.edges.some((e: any) => e.server?.statusCodes["503"] > 0)).toBe(true)
    expect(topology.edges.some((e: any) => e.client?.connections > 0)).toBe(true)
    expect(expected[12].status).toBe(404)
    expect(expected[5].body.instances).toHaveLength(2)
    expect(expected[6].body.endpoints.length).toBeGreaterThan(1)
    // Every series has a point in each of the five minutes (db-1's only TCP ones: it is called only over TCP).
    for (const i of [8, 9, 10, 11]) {
      expect(expected[i].status).toBe(200)
      expect(expected[i].body.points.filter((p: any) => p.metrics !== null).length).toBeGreaterThan(0)
    }
    expect(expected[8].body.points.filter((p: any) => p.metrics !== null)).toHaveLength(5)
  }, 90_000)

  it("VictoriaMetrics gives the same answers to a process that received nothing", async () => {
    await sameAsMemory(vmReader, "the VictoriaMetrics reader")
  }, 60_000)

  it("a replica SIGKILLed and restarted under the same name changes no answer", async () => {
    await sameAsMemory(replicas[1], "replica b before")
    expect(await replicas[1].stop("SIGKILL")).toBe(null)
    replicas[1] = await spawnMeshsight(envOf[1]())
    for (const [i, r] of replicas.entries()) await sameAsMemory(r, `replica ${"abc"[i]} after the restart`)
  }, 90_000)

  it("with the TSDB away the API answers 503 with the reason and ingest goes on; back, the totals are right", async () => {
    await prometheus.stop()
    const down = await getJson(replicas[0].url, `/api/topology?${range}`)
    expect(down.status).toBe(503)
    expect(down.body.error).toContain(`metric storage http://127.0.0.1:${prometheus.port}`)
    const ready = await fetch(`${replicas[0].url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.text()).toContain("query API unavailable (503)")
    // A minute more of traffic while the TSDB is away: taken by every replica, queued for remote write.
    const more = meshMessages([now - 3 * MINUTE], 40, 8)
    await Promise.all([deal(more, [memory]), deal(more, replicas)])
    await prometheus.restart()
    for (const [i, r] of replicas.entries()) await sameAsMemory(r, `replica ${"abc"[i]} after the TSDB came back`)
    const topology = (await getJson(replicas[2].url, `/api/topology?${range}`)).body
    expect(topology.edges.reduce((n: number, e: any) => n + (e.client?.calls ?? 0), 0)).toBe(5 * 60 + 40)
  }, 120_000)

  it("late records of a minute already written are written as another sample of that minute", async () => {
    const late = meshMessages([MINUTES[0]], 30, 9)
    await Promise.all([deal(late, [memory]), deal(late, [replicas[0]])])
    const expected = await sameAsMemory(replicas[1], "replica b after late records")
    expect(expected[8].body.points.find((p: any) => p.time === MINUTES[0]).metrics.calls).toBeGreaterThan(0)
    const scraped = await (await fetch(`${replicas[0].url}/metrics`)).text()
    expect(scraped).toMatch(/meshsight_minute_late_writes_total [1-9]/)
  }, 90_000)

  it("a replica stopped with SIGTERM writes the minute it was in before it exits", async () => {
    const current = minuteOf(Date.now())
    const inMinute = `/api/topology?start=${current}&end=${current + MINUTE}`
    const traffic = meshMessages([current], 20, 10)
    await Promise.all([deal(traffic, [memory]), deal(traffic, [replicas[2]])])
    expect(await replicas[2].stop("SIGTERM")).toBe(0)
    const [expected] = await waitFor(
      "the stopped replica's current minute in the TSDB",
      () => Promise.all([getJson(memory.url, inMinute), getJson(replicas[0].url, inMinute)]).then((r) => r.map((x) => x.body)),
      ([want, got]) => want.edges.length > 0 && JSON.stringify(got) === JSON.stringify(want),
      20_000,
      250
    )
    expect(expected.edges.length).toBeGreaterThan(0)
  }, 60_000)
})
