// The proxy views in storage mode `prometheus` (docs/scale-out.md): the simulated bookinfo sidecars stream their
// Envoy stats over MetricsService to replica a only (and the same messages to one in-memory meshsight). Replica b,
// reading a real Prometheus, and replica c, reading a real VictoriaMetrics, must answer the proxy views exactly as
// the in-memory meshsight: a minute once it is over, and the current one once replica a stops with SIGTERM. With
// the TSDB away the proxy views answer 503.
//
// A MetricsService message counts in the minute it arrives in (the store's clock, not the stats' timestamps), so
// the test sends in real minutes, away from their ends. `lastSeen` is when a process received the proxy's last
// message: the in-memory process's and replica a's differ by the few milliseconds between their receipts.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeMetricsMessage, makeProxyStats } from "../../sim/proxy-stats.ts"
import { seededRandom } from "../../sim/random.ts"
import { bookinfo } from "../../sim/topology.ts"
import { minuteOf } from "../../src/domain/minute.ts"
import { type MeshsightProcess, spawnMeshsight } from "../../testkit/meshsight-process.ts"
import { startPrometheus, startVictoriaMetrics, type Tsdb } from "../../testkit/tsdb.ts"
import { sendAlsMessages } from "../support/als-client.ts"
import { getJson } from "../support/http-json.ts"
import { waitFor } from "../support/wait-for.ts"

const MINUTE = 60_000
const topology = bookinfo({ instances: 2 })
const pods = topology.pods.filter((p) => p.role !== "router")
const services = [...new Set(pods.map((p) => `${p.service}.${p.namespace}`))]
const stats = makeProxyStats(topology, seededRandom(11), 0.3)

/** What the UI asks about proxies over [start, end), the unknown ones (404) included. */
const pathsFor = (start: number, end: number) => {
  const range = `start=${start}&end=${end}`
  return [
    ...services.map((s) => `/api/services/${s}/proxies?${range}`),
    ...pods.map((p) => `/api/services/${p.service}.${p.namespace}/instances/${p.name}/proxy?${range}`),
    ...topology.routes.map((r) => `/api/proxy-relations?source=${r.from}.default&target=${r.to}.default&${range}`),
    `/api/services/productpage.default/instances/nobody/proxy?${range}`,
    `/api/proxy-relations?source=nobody.default&target=reviews.default&${range}`
  ]
}

let prometheus: Tsdb
let victoria: Tsdb
let memory: MeshsightProcess
let replicas: Array<MeshsightProcess>

const replicaEnv = (name: string, tsdb: Tsdb) => ({
  MESHSIGHT_HTTP_ANALYZERS: "mx-mesh",
  MESHSIGHT_TCP_ANALYZERS: "mx-mesh",
  MESHSIGHT_STORAGE: "prometheus",
  MESHSIGHT_PROMETHEUS_URL: tsdb.url,
  MESHSIGHT_REMOTE_WRITE_URL: `${prometheus.writeUrl},${victoria.writeUrl}`,
  MESHSIGHT_MINUTE_WRITE_GRACE_MS: "1000",
  MESHSIGHT_MINUTE_WRITE_CHECK_MS: "200",
  MESHSIGHT_REPLICA: name
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Every sidecar's stream: `flushes` flushes of its stats (the identifier on the first), to each process. */
const sendFlushes = async (flushes: number, to: ReadonlyArray<MeshsightProcess>) => {
  const streams = pods.map((pod) =>
    Array.from({ length: flushes }, (_, i) => encodeMetricsMessage(stats.flush(pod, Date.now()), i === 0 ? { workload: pod } : undefined))
  )
  const statuses = await Promise.all(
    to.flatMap((p) => streams.map((messages) => sendAlsMessages(p.grpcPort, messages, "v3", { service: "metrics" })))
  )
  for (const s of statuses) expect(s.code).toBe(0)
}

/** Answers with `lastSeen` taken out (compared on its own), and the `lastSeen` values in order. */
const answers = async (p: MeshsightProcess, paths: ReadonlyArray<string>) => {
  const got = await Promise.all(paths.map((path) => getJson(p.url, path)))
  const seen: Array<number> = []
  const text = JSON.stringify(got, (key, value) => {
    if (key !== "lastSeen") return value
    seen.push(value)
    return undefined
  })
  return { got, text, seen }
}

/**
 * Waits until `p` answers `paths` as the in-memory meshsight does, and checks each `lastSeen` against the
 * in-memory one (`seenOk`); returns the in-memory answers and `p`'s `lastSeen` values.
 */
const sameAsMemory = async (
  p: MeshsightProcess,
  paths: ReadonlyArray<string>,
  what: string,
  seenOk: (got: number, inMemory: number) => boolean
) => {
  const expected = await answers(memory, paths)
  const got = await waitFor(
    `${what} to answer the proxy views as the in-memory meshsight`,
    () => answers(p, paths),
    (a) => a.text === expected.text && a.seen.every((t, i) => seenOk(t, expected.seen[i])),
    45_000,
    250
  ).catch(async (e) => {
    const last = await answers(p, paths)
    paths.forEach((path, i) => expect({ path, ...last.got[i] }).toEqual({ path, ...expected.got[i] }))
    last.seen.forEach((t, i) => expect(seenOk(t, expected.seen[i]), `lastSeen ${t} (in memory: ${expected.seen[i]})`).toBe(true))
    throw e
  })
  expect(got.seen).toHaveLength(expected.seen.length)
  return { expected, seen: got.seen }
}

let first: number

beforeAll(async () => {
  ;[prometheus, victoria] = await Promise.all([startPrometheus([]), startVictoriaMetrics()])
  ;[memory, ...replicas] = await Promise.all([
    spawnMeshsight({ MESHSIGHT_HTTP_ANALYZERS: "mx-mesh", MESHSIGHT_TCP_ANALYZERS: "mx-mesh" }),
    spawnMeshsight(replicaEnv("a", prometheus)),
    spawnMeshsight(replicaEnv("b", prometheus)),
    spawnMeshsight(replicaEnv("c", victoria))
  ])
  // Two minutes of flushes, each sent well inside its minute.
  if (Date.now() - minuteOf(Date.now()) > 40_000) await sleep(minuteOf(Date.now()) + MINUTE + 500 - Date.now())
  first = minuteOf(Date.now())
  await sendFlushes(3, [memory, replicas[0]])
  await sleep(first + MINUTE + 500 - Date.now())
  await sendFlushes(3, [memory, replicas[0]])
}, 150_000)

afterAll(async () => {
  await Promise.all([memory, ...(replicas ?? [])].map((p) => p?.stop()))
  await Promise.all([prometheus?.remove(), victoria?.remove()])
})

describe("the proxy views from the TSDB", () => {
  it("a minute over is answered by every replica as by the in-memory meshsight", async () => {
    const paths = pathsFor(first - 10 * MINUTE, first + MINUTE)
    // The TSDB knows the last message of the minutes written so far: the first minute's.
    const inFirst = (t: number) => t >= first && t < first + MINUTE
    const { expected } = await sameAsMemory(replicas[1], paths, "replica b (Prometheus)", inFirst)
    await sameAsMemory(replicas[2], paths, "replica c (VictoriaMetrics)", inFirst)
    // Not vacuous: every proxy's minute, clusters, increases and unhealthy clusters are there.
    const bodies = expected.got.map((a) => a.body)
    const health = bodies.slice(0, services.length)
    expect(health.flatMap((h) => h.instances)).toHaveLength(pods.length)
    expect(health.some((h) => h.instances.some((i: any) => i.unhealthyClusters.length > 0))).toBe(true)
    const instance = bodies[services.length]
    expect(instance.metrics.find((m: any) => m.name === "envoy_heap_memory_used").series).toHaveLength(1)
    expect(instance.clusters.length).toBeGreaterThan(1)
    expect(expected.got.at(-2)!.status).toBe(404)
    expect(expected.got.at(-1)!.status).toBe(404)
    const relation = bodies[services.length + pods.length + 1]
    expect(relation.source).toBe("productpage.default")
    expect(relation.metrics.find((m: any) => m.name === "envoy_sr_cluster_up_rq_active").series).toHaveLength(1)
  }, 90_000)

  it("replica a stopped with SIGTERM writes its current minute: both minutes answered exactly", async () => {
    expect(await replicas[0].stop("SIGTERM")).toBe(0)
    const paths = pathsFor(first - 10 * MINUTE, first + 2 * MINUTE)
    // Replica a received each message a moment before or after the in-memory process.
    const close = (t: number, inMemory: number) => Math.abs(t - inMemory) < 5_000
    const { expected, seen } = await sameAsMemory(replicas[1], paths, "replica b (Prometheus)", close)
    expect((await sameAsMemory(replicas[2], paths, "replica c (VictoriaMetrics)", close)).seen).toStrictEqual(seen)
    const instance = expected.got[services.length].body
    const reviews = instance.clusters.find((c: any) => c.clusterName === "reviews.default")
    // Two minutes; the second's increases are the requests between the minutes' flushes.
    const increases = reviews.metrics.find((m: any) => m.name === "envoy_cluster_up_rq_incr").series
    expect(increases.map((p: any) => p.time)).toStrictEqual([first, first + MINUTE])
    expect(increases[1].value).toBeGreaterThan(0)
  }, 90_000)

  it("with the TSDB away the proxy views answer 503 with the reason", async () => {
    await prometheus.stop()
    const paths = pathsFor(first, first + 2 * MINUTE)
    for (const path of [paths[0], paths[services.length], paths[services.length + pods.length + 1]]) {
      const down = await getJson(replicas[1].url, path)
      expect(down.status).toBe(503)
      expect(down.body.error).toContain(`metric storage http://127.0.0.1:${prometheus.port}`)
    }
  }, 30_000)
})
