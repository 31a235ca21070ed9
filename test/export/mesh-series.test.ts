// The export's series in virtual time: idle label sets are evicted as Istio's stat eviction does, the label-set
// bound refuses and counts, the snapshot remote write sends carries a zero sample the first time, and the
// proxies' MetricsService gauges come from the right minute and leave with their silent proxy.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { TestClock } from "effect/testing"
import { layerFromVariables, type Variables } from "../../src/config.ts"
import type { MeshMetric } from "../../src/domain/mesh-metric.ts"
import { MeshExport, MeshExportLive } from "../../src/export/mesh-export.ts"
import { MetricsStreamHandler as MetricsPipeline } from "../../src/ingest/stream-handler.ts"
import { MemoryBudgetLive } from "../../src/memory/budget.ts"
import { MetricsPipelineLive } from "../../src/pipeline/metrics-pipeline.ts"
import { ProxyMetricStoreLive } from "../../src/proxy-metrics/proxy-metric-store.ts"
import { counterFamily, encodeMetricsMessage, gaugeFamily } from "../../sim/proxy-stats.ts"
import { bookinfo } from "../../sim/topology.ts"
import { HTTP_REQUESTS, makeMeshSeries } from "../../src/export/mesh-series.ts"
import { destinationPart, sourcePart } from "../../src/export/istio-labels.ts"
import type { WorkloadIdentity } from "../../src/domain/identity.ts"
import { snapshotBatches, WriteQueue, outcomeOfStatus, retryDelayMs } from "../../src/export/remote-write.ts"
import { parseExposition, sumOf } from "../support/exposition.ts"
import { metricValue } from "../../testkit/meshsight-process.ts"
import { uncompressSync } from "snappy"
import { decodeWriteRequest } from "../support/write-request.ts"
import { meshMetric } from "../support/mesh-metric.ts"
import { alsMessageJson, inboundHttpEntry, outboundHttpEntry, type Workload } from "../../sim/istio-entries.ts"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { decodeAlsMessage } from "../../src/protocol/als-codec.ts"
import { messagesOf } from "../support/message-sources.ts"

const T0 = Date.UTC(2026, 10, 25, 10, 0, 0)
const MIN = 60_000

const metric = (over: Partial<MeshMetric> = {}): MeshMetric => meshMetric({ startTimeMs: T0, ...over })

const withExport = <A, E>(variables: Variables, body: Effect.Effect<A, E, MeshExport | MetricsPipeline>) =>
  Effect.andThen(
    TestClock.setTime(T0),
    Effect.provide(
      body,
      Layer.mergeAll(MeshExportLive, MetricsPipelineLive).pipe(
        Layer.provide(ProxyMetricStoreLive),
        Layer.provide(MemoryBudgetLive),
        Layer.provide(layerFromVariables(variables))
      )
    )
  )

const requestsIn = (text: string) => sumOf(parseExposition(text), "istio_requests_total")

describe("mesh series", () => {
  it.effect("a label set idle for MESHSIGHT_MESH_METRICS_IDLE_MINUTES is dropped and counted; an active one stays", () =>
    withExport(
      { MESHSIGHT_MESH_METRICS_IDLE_MINUTES: "10" },
      Effect.gen(function* () {
        const mesh = yield* MeshExport
        mesh.record([metric(), metric({ responseCode: 503 })], T0)
        yield* TestClock.adjust(6 * MIN)
        mesh.record([metric()], T0 + 6 * MIN)
        expect(requestsIn(yield* mesh.scrape(false))).toBe(3)
        yield* TestClock.adjust(5 * MIN)
        // The 503 series was last updated 11 minutes ago; the 200 one 5 minutes ago.
        const text = yield* mesh.scrape(false)
        expect(
          parseExposition(text)
            .filter((s) => s.name === "istio_requests_total")
            .map((s) => [s.labels.response_code, s.value])
        ).toStrictEqual([["200", 2]])
        const own = yield* PrometheusMetrics.format()
        expect(metricValue(own, "meshsight_mesh_series_evicted_total")).toBeGreaterThanOrEqual(1)
      })
    )
  )

  it.effect("new label sets past MESHSIGHT_MESH_METRICS_MAX_SERIES are refused and counted; known ones still count", () =>
    withExport(
      { MESHSIGHT_MESH_METRICS_MAX_SERIES: "2" },
      Effect.gen(function* () {
        const mesh = yield* MeshExport
        const before = metricValue(yield* PrometheusMetrics.format(), "meshsight_mesh_series_refused_total")
        mesh.record(
          [metric({ responseCode: 200 }), metric({ responseCode: 404 }), metric({ responseCode: 500 }), metric({ responseCode: 200 })],
          T0
        )
        expect(requestsIn(yield* mesh.scrape(false))).toBe(3)
        yield* TestClock.adjust("5 seconds")
        expect(metricValue(yield* PrometheusMetrics.format(), "meshsight_mesh_series_refused_total") - before).toBe(1)
      })
    )
  )
})

const productpage = bookinfo({ instances: 1 }).pods.find((p) => p.service === "productpage")!
const REVIEWS = "cluster.outbound|9080||reviews.default.svc.cluster.local"

/** One flush of productpage's proxy, arriving at `atMs` (virtual time). */
const flush = (atMs: number, heap: number, requests: number) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(atMs)
    const families = [gaugeFamily("server.memory_heap_size", heap, atMs), counterFamily(`${REVIEWS}.upstream_rq_total`, requests, atMs)]
    yield* (yield* MetricsPipeline).run(messagesOf([encodeMetricsMessage(families, { workload: productpage })]), "test")
  })

/** The `envoy_*` samples of a scrape as "name{labels} value" lines. */
const proxyLines = (text: string) => text.split("\n").filter((l) => l.startsWith("envoy_"))

describe("series lookup", () => {
  // Label sets that differ in one part only (the response code, or the destination), 5 000 of each: a pair's last
  // series is taken over between one record of a label set and the next, and two label sets can only be told apart
  // by that one part.
  // One identity object per workload, as the analyzers hand them out (each record of `metric()` has its own).
  const { source, destination: cart } = metric()
  const byCode = Array.from({ length: 5_000 }, (_, i) => metric({ source, destination: cart, responseCode: 100 + i }))
  const byDestination = Array.from({ length: 5_000 }, (_, i) =>
    metric({ source, destination: { ...cart, instance: `cart-${i}`, workload: `cart-${i}` } })
  )

  it.each([
    ["response code", byCode],
    ["destination", byDestination]
  ])("label sets that differ only in their %s keep their own counts", (_, records) => {
    const registry = makeMeshSeries({ maxSeries: 100_000, idleMs: 10 * MIN })
    const extra = (i: number) => (i % 7 === 0 ? 1 : 0)
    for (let round = 0; round < 3; round++) {
      registry.record(records, T0)
      // One more call of every seventh label set, in reverse order.
      registry.record(records.filter((_, i) => extra(i) === 1).reverse(), T0)
    }
    expect(registry.size()).toBe(records.length)
    const requests = [...registry.series()].map((s) => s.values[HTTP_REQUESTS])
    expect(requests).toStrictEqual(records.map((_, i) => 3 * (1 + extra(i))))
  })

  // The records of one pair of identity objects that differ in one input at a time (Service, authority,
  // principal, outcome, reporter side, security policy): the pair's memo of its last label set must notice each.
  const entryOf = (json: Record<string, unknown>, reporter: Workload) =>
    decodeAlsMessage(encodeAlsMessageJson(alsMessageJson({ http: [json] }, { workload: reporter, role: "sidecar" }))).entries[0]
  const podOf = (workloadName: string, ip: string): Workload => ({
    name: `${workloadName}-1`,
    namespace: "shop",
    ip,
    labels: { app: workloadName },
    workloadName,
    serviceAccount: `${workloadName}-sa`
  })
  const [web, shopPod] = [podOf("web", "10.0.0.5"), podOf("cart", "10.0.0.6")]
  const call = { startMs: T0, durationMs: 10, authority: "cart:8080", mtls: true }
  const toCart = { client: web, server: shopPod, port: 8080, host: "cart.shop.svc.cluster.local" }
  const server = (over: object, peers = toCart) =>
    metric({ source, destination: cart, entry: entryOf(inboundHttpEntry({ ...call, ...over }, peers), shopPod) })
  const client = (over: object, host = toCart.host) =>
    metric({
      source,
      destination: cart,
      detectPoint: "client",
      entry: entryOf(outboundHttpEntry({ ...call, ...over }, { ...toCart, host }), web)
    })
  const waypointEntry = entryOf(inboundHttpEntry(call, toCart), shopPod)
  // Each variant is one call: a waypoint reports its pair of records (server side, then client side) as one.
  const variants: ReadonlyArray<ReadonlyArray<MeshMetric>> = [
    [server({})],
    [server({ authority: "cart.other:8080" })],
    [server({}, { ...toCart, client: { ...web, serviceAccount: "other-sa" } })],
    [metric({ ...server({}), responseCode: 503 })],
    [server({ responseFlags: { upstreamConnectionFailure: true } })],
    [server({ grpcStatus: 14 })],
    [metric({ ...server({}), tlsMode: "NONE" })],
    [client({})],
    [client({}, "cart-canary.shop.svc.cluster.local")],
    (["server", "client"] as const).map((detectPoint) =>
      metric({ source, destination: cart, role: "waypoint", detectPoint, entry: waypointEntry })
    )
  ]

  it("a pair's records that differ in one input at a time keep their own label sets, in any order", () => {
    const registry = makeMeshSeries({ maxSeries: 100, idleMs: 10 * MIN })
    // Variant i is recorded i + 1 times per round, each round in another order.
    for (let round = 0; round < 4; round++) {
      const order = variants.flatMap((v, i) => Array.from({ length: i + 1 }, () => v))
      registry.record((round % 2 === 0 ? order : order.reverse()).flat(), T0)
      // 3 and the number of variants have no common divisor: every variant once, in a shuffled order.
      registry.record(
        variants.flatMap((_, i) => variants[(i * 3 + round) % variants.length]),
        T0
      )
    }
    expect(registry.size()).toBe(variants.length)
    const requests = [...registry.series()].map((s) => s.values[HTTP_REQUESTS])
    expect(requests).toStrictEqual(variants.map((_, i) => 4 * (i + 1) + 4))
  })

  it("callees known only by their namespace share their labels, not their Service: a bare authority takes each one's namespace", () => {
    const registry = makeMeshSeries({ maxSeries: 100, idleMs: 10 * MIN })
    const nameless = (namespace: string): WorkloadIdentity => ({ ...cart, instance: "", namespace })
    const [shop, other] = [nameless("shop"), nameless("other")]
    const entry = entryOf(inboundHttpEntry(call, toCart), shopPod)
    registry.record(
      [shop, other, shop].map((destination) => metric({ source, destination, entry })),
      T0
    )
    const services = [...registry.series()].map((s) => s.pairs.find(([k]) => k === "destination_service")?.[1])
    expect(services).toStrictEqual(["cart.shop.svc.cluster.local", "cart.other.svc.cluster.local"])
  })

  it("past its bound, refusing new label sets, the lookup still finds the label sets it holds", () => {
    const registry = makeMeshSeries({ maxSeries: 10, idleMs: 10 * MIN })
    // 5 000 pairs of workloads: more than the memo of pairs keeps (the bound and 4 096) before it starts over.
    expect(registry.record(byDestination, T0).refused).toBe(byDestination.length - 10)
    expect(registry.record(byDestination, T0).refused).toBe(byDestination.length - 10)
    expect([...registry.series()].map((s) => s.values[HTTP_REQUESTS])).toStrictEqual(Array.from({ length: 10 }, () => 2))
  })

  it("a label set evicted and back gets a series of its own again, for the same identity objects", () => {
    const registry = makeMeshSeries({ maxSeries: 100, idleMs: MIN })
    registry.record([...variants[0], ...variants[7]], T0)
    expect(registry.evictIdle(T0 + 2 * MIN)).toBe(2)
    registry.record([...variants[0], ...variants[0]], T0 + 2 * MIN)
    expect([...registry.series()].map((s) => s.values[HTTP_REQUESTS])).toStrictEqual([2])
  })

  it("every pod of a workload (its own identity object) shares its workload's label parts; another workload does not", () => {
    const pod = (workloadOf: WorkloadIdentity, i: number): WorkloadIdentity => ({ ...workloadOf, instance: `${workloadOf.workload}-${i}` })
    const pods = Array.from({ length: 50 }, (_, i) => pod(cart, i))
    expect(new Set(pods.map(sourcePart)).size).toBe(1)
    expect(new Set(pods.map(destinationPart)).size).toBe(1)
    expect(sourcePart(pod(source!, 0))).not.toBe(sourcePart(pods[0]))
    expect(destinationPart(pod({ ...cart, workload: "cart-v2" }, 0))).not.toBe(destinationPart(pods[0]))
    // One label set for all their calls.
    const registry = makeMeshSeries({ maxSeries: 100, idleMs: 10 * MIN })
    registry.record(
      pods.map((destination) => metric({ source, destination })),
      T0
    )
    expect([...registry.series()].map((s) => s.values[HTTP_REQUESTS])).toStrictEqual([pods.length])
  })
})

describe("the proxies' gauges", () => {
  it.effect(
    "a last value from the newest minute, a max or increase from the newest whole one; a silent proxy leaves after the idle minutes",
    () =>
      withExport(
        { MESHSIGHT_MESH_METRICS_IDLE_MINUTES: "2" },
        Effect.gen(function* () {
          const mesh = yield* MeshExport
          const own = `instance="${productpage.name}",service="productpage.default"`
          yield* flush(T0 + 20_000, 100, 10)
          // Minute 0 is still running: only its last values, no max or increase yet.
          expect(proxyLines(yield* mesh.scrape(false))).toStrictEqual([`envoy_heap_memory_used{${own}} 100`])
          yield* flush(T0 + 40_000, 300, 25)
          yield* flush(T0 + MIN + 20_000, 200, 45)
          expect(proxyLines(yield* mesh.scrape(false))).toStrictEqual([
            `envoy_heap_memory_used{${own}} 200`, // minute 1's last value
            `envoy_heap_memory_max_used{${own}} 300`, // minute 0's max
            `envoy_cluster_up_rq_incr{cluster_name="reviews.default",${own}} 15`, // minute 0: 10 → 25 (the first value is the baseline)
            `envoy_sr_cluster_up_rq_incr{destination_service="reviews.default",source_service="productpage.default"} 15`
          ])
          yield* TestClock.setTime(T0 + 2 * MIN + 10_000)
          expect(proxyLines(yield* mesh.scrape(false)).slice(1, 3)).toStrictEqual([
            `envoy_heap_memory_max_used{${own}} 200`,
            `envoy_cluster_up_rq_incr{cluster_name="reviews.default",${own}} 20`
          ])
          // Silent since T0 + 1:20: gone two minutes later, though the store keeps its minutes for the retention.
          yield* TestClock.setTime(T0 + 3 * MIN + 21_000)
          expect(proxyLines(yield* mesh.scrape(true))).toStrictEqual([])
        })
      )
  )
})

describe("remote-write snapshot", () => {
  it("a series' first snapshot carries a zero sample one interval earlier; later ones only the value", () => {
    const registry = makeMeshSeries({ maxSeries: 10, idleMs: MIN, extraPairs: [["meshsight_replica", "r1"]] })
    registry.record([metric(), metric()], T0)
    const [first] = snapshotBatches(registry.series(), T0 + 15_000, 15_000)
    const [second] = snapshotBatches(registry.series(), T0 + 30_000, 15_000)
    // As Prometheus reads it: sorted labels with the replica, cumulative buckets, the zero sample first.
    const decoded = decodeWriteRequest(first.body)
    for (const ts of decoded) expect(ts.labelOrder).toStrictEqual([...ts.labelOrder].sort())
    const requests = decoded.find((ts) => ts.labels.__name__ === "istio_requests_total")!
    expect(requests.labels.meshsight_replica).toBe("r1")
    expect(requests.labels.reporter).toBe("destination")
    expect(requests.labels).not.toHaveProperty("grpc_response_status") // empty values are left out
    expect(requests.samples).toStrictEqual([
      [0, T0],
      [2, T0 + 15_000]
    ])
    const le = (v: string) =>
      decoded.find((ts) => ts.labels.__name__ === "istio_request_duration_milliseconds_bucket" && ts.labels.le === v)!
    expect([le("50").samples[1][0], le("100").samples[1][0], le("+Inf").samples[1][0]]).toStrictEqual([0, 2, 2])
    expect(decodeWriteRequest(second.body).find((ts) => ts.labels.__name__ === "istio_requests_total")!.samples).toStrictEqual([
      [2, T0 + 30_000]
    ])
    // 1 counter + 22 duration-histogram series (no sizes on these records): two samples each first, one after.
    expect(first.samples).toBe(46)
    expect(second.samples).toBe(23)
    const bytes = new Uint8Array(uncompressSync(Buffer.from(first.body)) as Buffer)
    expect(Buffer.from(bytes).toString("latin1")).toContain("meshsight_replica")
    expect(bytes.length).toBeGreaterThan(new Uint8Array(uncompressSync(Buffer.from(second.body)) as Buffer).length)
  })

  it("a label set evicted and back gets its zero sample after the eviction, or none when that leaves no room", () => {
    const registry = makeMeshSeries({ maxSeries: 10, idleMs: MIN })
    registry.record([metric()], T0)
    snapshotBatches(registry.series(), T0 + 15_000, 15_000)
    registry.evictIdle(T0 + 2 * MIN)
    registry.record([metric()], T0 + 2 * MIN)
    // The old series' samples run up to the eviction; a zero one interval back would be older than those.
    const [again] = snapshotBatches(registry.series(), T0 + 2 * MIN + 5_000, 15_000, registry.lastEvictionMs())
    const requests = decodeWriteRequest(again.body).find((ts) => ts.labels.__name__ === "istio_requests_total")!
    expect(requests.samples).toStrictEqual([
      [0, T0 + 2 * MIN + 1],
      [1, T0 + 2 * MIN + 5_000]
    ])
    registry.record([metric({ responseCode: 418 })], T0 + 2 * MIN)
    const [sameMs] = snapshotBatches(registry.series(), T0 + 2 * MIN, 15_000, registry.lastEvictionMs())
    // At the eviction's own millisecond there is no earlier time left: the new series is sent without a zero.
    expect(sameMs.samples).toBe(2 * 23)
  })
})

describe("remote-write queue and retries", () => {
  it("drops the oldest requests past its sample bound and says how many samples went", () => {
    const q = new WriteQueue(10)
    const batch = (samples: number) => ({ body: new Uint8Array(0), samples })
    const a = batch(4)
    expect(q.push(a)).toBe(0)
    expect(q.push(batch(4))).toBe(0)
    expect(q.push(batch(4))).toBe(4)
    expect(q.peek()).not.toBe(a)
    expect(q.samples).toBe(8)
    expect(q.length).toBe(2)
  })

  it("retries network trouble, 5xx and 429, never another 4xx; backoff doubles, jittered, up to its cap", () => {
    expect(outcomeOfStatus(204, "")._tag).toBe("Sent")
    expect(outcomeOfStatus(503, "busy")._tag).toBe("Retry")
    expect(outcomeOfStatus(429, "slow down")._tag).toBe("Retry")
    expect(outcomeOfStatus(400, "out of order sample")._tag).toBe("Rejected")
    expect(outcomeOfStatus(401, "")._tag).toBe("Rejected")
    expect([0, 1, 2, 3].map((n) => retryDelayMs(n, 10_000, 1))).toStrictEqual([250, 500, 1000, 2000])
    expect(retryDelayMs(3, 10_000, 0)).toBe(1000)
    expect(retryDelayMs(30, 10_000, 1)).toBe(10_000)
  })
})
