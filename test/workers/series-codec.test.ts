// A worker's flushed bucket survives the trip to the primary: every count of every series, and merging the decoded
// series into a store gives what merging the originals gives.
import { describe, expect, it } from "vitest"
import type { MinuteBucket } from "../../src/domain/series.ts"
import { SeriesStats } from "../../src/domain/series-stats.ts"
import { decodeBucket, encodeBucket } from "../../src/workers/series-codec.ts"
import { meshMetric } from "../support/mesh-metric.ts"

const T = 1_700_000_040_000

/** Every count a SeriesStats keeps, through its public surface. */
const countsOf = (s: SeriesStats) => ({
  calls: s.calls,
  successes: s.successes,
  latencySumMs: s.latencySumMs,
  latency: [...s.latency.counts],
  percentiles: s.latency.percentiles([50, 90, 99]),
  apdex: s.apdex,
  codes: s.statusCodeCounts(),
  flags: s.responseFlags === undefined ? undefined : [...s.responseFlags],
  http: s.httpCalls,
  grpc: s.grpcCalls,
  tcp: s.tcp,
  sidecar: [s.sidecarReqNsSum, s.sidecarReqCount, s.sidecarRespNsSum, s.sidecarRespCount]
})

const sampleBucket = (): MinuteBucket => {
  const service = new SeriesStats(true)
  const latencies = [0, 3, 31, 32, 250, 499, 700, 3_000, 86_400_000]
  latencies.forEach((latencyMs, i) =>
    service.record(
      meshMetric({
        startTimeMs: T,
        latencyMs,
        responseCode: [200, 200, 503, 404, 200, 0, 200, 500, 200][i],
        success: i % 3 !== 2,
        protocol: i % 2 === 0 ? "HTTP" : "gRPC",
        internalErrorCode: i === 2 ? "UF" : i === 7 ? "URX" : "",
        sidecarInternalReqLatencyNs: i === 4 ? 12_345 : undefined,
        sidecarInternalRespLatencyNs: i === 5 ? 678 : undefined
      }),
      500
    )
  )
  const tcp = new SeriesStats(false)
  tcp.record(meshMetric({ startTimeMs: T, protocol: "TCP", receivedBytes: 1_000, sentBytes: 2_500_000_000 }), 0)
  tcp.record(meshMetric({ startTimeMs: T, protocol: "TCP", receivedBytes: 7, sentBytes: 0, internalErrorCode: "UF" }), 0)
  const empty = new SeriesStats(false)
  return new Map([
    ["svc", { entity: { scope: "service", service: "cart", namespace: "default" }, stats: service }],
    [
      "rel",
      {
        entity: {
          scope: "serviceRelation",
          detectPoint: "client",
          source: "frontend",
          sourceNamespace: "default",
          target: "db",
          targetNamespace: "default"
        },
        stats: tcp
      }
    ],
    ["inst", { entity: { scope: "instance", service: "cart", namespace: "default", instance: "cart-1" }, stats: empty }]
  ])
}

describe("the worker → primary series codec", () => {
  it("keeps every count, entity and key of a bucket", () => {
    const bucket = sampleBucket()
    const decoded = decodeBucket(structuredClone(encodeBucket(T, bucket)))
    expect([...decoded.keys()]).toEqual([...bucket.keys()])
    for (const [key, { entity, stats }] of bucket) {
      expect(decoded.get(key)!.entity).toEqual(entity)
      expect(countsOf(decoded.get(key)!.stats)).toEqual(countsOf(stats))
    }
    expect(countsOf(decoded.get("svc")!.stats).codes).toEqual({ "0": 1, "200": 5, "404": 1, "500": 1, "503": 1 })
  })

  it("merges like the original: decoded series added into existing ones give the same totals", () => {
    const viaCodec = sampleBucket()
    const direct = sampleBucket()
    for (const [key, { stats }] of decodeBucket(encodeBucket(T, sampleBucket()))) viaCodec.get(key)!.stats.merge(stats)
    for (const [key, { stats }] of sampleBucket()) direct.get(key)!.stats.merge(stats)
    for (const key of direct.keys()) expect(countsOf(viaCodec.get(key)!.stats)).toEqual(countsOf(direct.get(key)!.stats))
  })
})
