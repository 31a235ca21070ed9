// Where meshsight's numbers deliberately differ from SkyWalking's on the same entries (docs/skywalking-compat.md):
// each test shows meshsight's figure and, beside it, the one SkyWalking's rule gives, computed here from that rule.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { Aggregator, AggregatorLive } from "../../src/aggregation/aggregator.ts"
import { layerFromVariables } from "../../src/config.ts"
import type { MeshMetric } from "../../src/domain/mesh-metric.ts"
import { QueryService, QueryServiceLive } from "../../src/query/query-service.ts"
import * as MemoryStore from "../../src/store/metric-store.ts"
import { analyze, type AnalysisMisses } from "../../src/analysis/analyze.ts"
import { makeEndpointNamer } from "../../src/analysis/endpoint-names.ts"
import { NO_RULES } from "../../src/analysis/endpoint-rules.ts"
import { LatencyHistogram } from "../../src/domain/latency-histogram.ts"
import { emptySides } from "../../src/domain/identity.ts"
import { parseNode } from "../../src/domain/node.ts"
import { decodeAlsMessage } from "../../src/protocol/als-codec.ts"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, type CallPeers, outboundHttpEntry, type Workload } from "../../sim/istio-entries.ts"
import { workload } from "../support/ip-table-analyzer.ts"
import { MemoryBudgetLive } from "../../src/memory/budget.ts"

/** SkyWalking's `percentile2(10)`: 10 ms buckets, rank round(n·p/100), the answer is the bucket's lower bound. */
const skywalkingPercentile = (latencies: ReadonlyArray<number>, p: number): number => {
  const buckets = new Map<number, number>()
  for (const ms of latencies) buckets.set(Math.floor(ms / 10), (buckets.get(Math.floor(ms / 10)) ?? 0) + 1)
  const roof = Math.round((latencies.length * p) / 100)
  let count = 0
  for (const key of [...buckets.keys()].sort((a, b) => a - b)) {
    count += buckets.get(key)!
    if (count >= roof) return key * 10
  }
  return 0
}

const meshsightPercentiles = (latencies: ReadonlyArray<number>, ps: ReadonlyArray<number>) => {
  const h = new LatencyHistogram()
  for (const ms of latencies) h.record(ms)
  return h.percentiles(ps)
}

describe("meshsight and SkyWalking on the same entries", () => {
  it("percentiles: nearest rank over a log-linear histogram, where SkyWalking gives a 10 ms bucket's floor", () => {
    // Every call took 7 ms: SkyWalking's buckets floor that to 0 ms.
    const fast = Array.from({ length: 100 }, () => 7)
    expect(meshsightPercentiles(fast, [50, 99])).toEqual([7, 7])
    expect([skywalkingPercentile(fast, 50), skywalkingPercentile(fast, 99)]).toEqual([0, 0])
    // 123 ms is within 3.2 % in meshsight's bucket; SkyWalking answers 120.
    const mixed = [7, 15, 123, 123, 980]
    const [p50] = meshsightPercentiles(mixed, [50])
    expect(Math.abs(p50 - 123) / 123).toBeLessThan(0.032)
    expect(skywalkingPercentile(mixed, 50)).toBe(120)
  })

  it("sidecar internal latencies use whole durations, not only their nanosecond fraction", () => {
    const client: Workload = {
      name: "productpage-0",
      namespace: "default",
      ip: "10.0.0.1",
      labels: { app: "productpage" },
      workloadName: "productpage"
    }
    const server: Workload = { ...client, name: "reviews-0", ip: "10.0.0.2", labels: { app: "reviews" }, workloadName: "reviews" }
    const peers: CallPeers = { client, server, port: 9080, host: "reviews.default.svc.cluster.local" }
    const entry = outboundHttpEntry({ startMs: Date.UTC(2026, 10, 25, 12), durationMs: 3000 }, peers) as {
      commonProperties: Record<string, unknown>
    }
    // The proxy held the request for 1.25 s before sending it upstream (e.g. waiting on a rate limit service).
    entry.commonProperties.timeToFirstUpstreamTxByte = "1.250000000s"
    const message = decodeAlsMessage(encodeAlsMessageJson(alsMessageJson({ http: [entry] }, { workload: client, role: "sidecar" })))
    const sides = [{ ...emptySides(), local: workload("productpage"), upstream: workload("reviews") }]
    const misses: AnalysisMisses = { local: 0, source: 0, destination: 0 }
    const [record] = analyze(parseNode(message.identifier!.node), message.entries, sides, misses, makeEndpointNamer(NO_RULES))
    // SkyWalking reads Duration.nanos alone and would report 250 000 000 ns, the whole second lost.
    expect(record.sidecarInternalReqLatencyNs).toBe(1_250_000_000)
  })
})

describe("TCP bytes", () => {
  const T0 = Date.UTC(2026, 10, 25, 10)
  const connection = (receivedBytes: number, sentBytes: number): MeshMetric => ({
    role: "sidecar",
    detectPoint: "server",
    source: workload("app"),
    destination: workload("mysql"),
    endpoint: "",
    startTimeMs: T0 + 1000,
    endTimeMs: T0 + 2000,
    latencyMs: 1000,
    responseCode: 0,
    success: true,
    protocol: "TCP",
    tlsMode: "mTLS",
    internalErrorCode: "",
    receivedBytes,
    sentBytes,
    sidecarInternalReqLatencyNs: undefined,
    sidecarInternalRespLatencyNs: undefined,
    endpointGrouped: false
  })
  const stages = Layer.mergeAll(AggregatorLive, QueryServiceLive).pipe(
    Layer.provide(MemoryStore.layerConfig),
    Layer.provide(MemoryBudgetLive),
    Layer.provide(layerFromVariables({ MESHSIGHT_FLUSH_INTERVAL_MS: "1000", MESHSIGHT_RETENTION_MINUTES: "10" }))
  )

  it.effect("a minute's TCP bytes are the sum over its connections, where SkyWalking averages them", () =>
    Effect.andThen(
      TestClock.setTime(T0 + 5000),
      Effect.gen(function* () {
        const aggregator = yield* Aggregator
        const query = yield* QueryService
        aggregator.record([connection(100, 10), connection(300, 30)], T0 + 5000)
        yield* TestClock.adjust(1000)
        const mysql = (yield* query.services({ start: T0, end: T0 + 60_000 })).services.find((s) => s.name === "mysql")
        // SkyWalking's service_throughput_received is longAvg over the connections: 200 and 20.
        expect([mysql?.metrics?.receivedBytes, mysql?.metrics?.sentBytes]).toEqual([400, 40])
      }).pipe(Effect.provide(stages))
    )
  )
})
