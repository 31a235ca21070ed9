// The meshsight_minute_* series of storage mode prometheus: what the writer sends for a minute (labels sorted,
// stamped inside the minute) must add back up, sample by sample, to exactly the SeriesStats it came from.
import { describe, expect, it } from "vitest"
import { entityOf, MINUTE_FAMILIES } from "../../src/domain/minute-families.ts"
import type { MinuteBucket } from "../../src/domain/series.ts"
import { SeriesStats } from "../../src/domain/series-stats.ts"
import { makeMinuteBuffer, minuteBatches, PROCESS_SLOTS_MS, sampleTime } from "../../src/export/minute-writer.ts"
import { rangeSummary } from "../../src/query/range-summary.ts"
import { workload } from "../support/ip-table-analyzer.ts"
import { meshMetric } from "../support/mesh-metric.ts"
import { decodeWriteRequest } from "../support/write-request.ts"

const MINUTE = 1_796_000_040_000 - (1_796_000_040_000 % 60_000)

/** A service's minute with every kind of count: codes, flags, gRPC, TCP, sidecar latencies, a wide latency spread. */
const busyService = () => {
  const stats = new SeriesStats(true)
  const records = [
    meshMetric({ startTimeMs: MINUTE, latencyMs: 3 }),
    meshMetric({ startTimeMs: MINUTE, latencyMs: 250, responseCode: 503, success: false, internalErrorCode: "UF" }),
    meshMetric({ startTimeMs: MINUTE, latencyMs: 1_900, protocol: "gRPC", responseCode: 200 }),
    meshMetric({
      startTimeMs: MINUTE,
      latencyMs: 40,
      responseCode: 404,
      sidecarInternalReqLatencyNs: 1_500,
      sidecarInternalRespLatencyNs: 700
    }),
    meshMetric({ startTimeMs: MINUTE, protocol: "TCP", receivedBytes: 1234, sentBytes: 99, internalErrorCode: "UO" })
  ]
  for (const r of records) stats.record(r, 500)
  return stats
}

const bucket = (): MinuteBucket =>
  new Map([
    ["s", { entity: { scope: "service", service: "cart", namespace: "shop" }, stats: busyService() }],
    [
      "r",
      {
        entity: {
          scope: "serviceRelation",
          detectPoint: "client",
          source: "web",
          sourceNamespace: "",
          target: "cart",
          targetNamespace: "shop"
        },
        stats: (() => {
          const s = new SeriesStats(false)
          s.record(meshMetric({ startTimeMs: MINUTE, source: workload("web"), latencyMs: 12 }), 0)
          return s
        })()
      }
    ]
  ])

describe("meshsight_minute_* series", () => {
  it("read back from what the writer sends, give exactly the minute's SeriesStats", () => {
    const original = bucket()
    const series = minuteBatches([[MINUTE, bucket()]], "replica-1", (m) => sampleTime(m, 1234, 0)).flatMap((b) =>
      decodeWriteRequest(b.body)
    )
    const rebuilt = new Map<string, SeriesStats>()
    for (const s of series) {
      expect(s.labelOrder).toEqual([...s.labelOrder].sort())
      expect(s.labels.meshsight_replica).toBe("replica-1")
      expect(s.samples).toEqual([[expect.any(Number), MINUTE + 31_234]])
      const entity = entityOf(s.labels)!
      const key = entity.scope
      const family = MINUTE_FAMILIES.find((f) => f.name === s.labels.__name__)!
      const stats = rebuilt.get(key) ?? new SeriesStats(entity.scope === "service")
      rebuilt.set(key, stats)
      family.add(stats, family.label === undefined ? "" : s.labels[family.label], s.samples[0][0])
    }
    const activity = { callMinutes: 1, tcpMinutes: 1 }
    expect(rangeSummary(rebuilt.get("service")!, activity)).toEqual(rangeSummary(original.get("s")!.stats, activity))
    expect(rangeSummary(rebuilt.get("serviceRelation")!, activity)).toEqual(rangeSummary(original.get("r")!.stats, activity))
    // The relation's empty source namespace is left out, as Prometheus drops empty labels anyway.
    expect(series.find((s) => s.labels.scope === "serviceRelation")!.labels).not.toHaveProperty("source_namespace")
  })

  it("stamps a minute's writes inside the minute, after its middle, each write later than the one before", () => {
    const times = [0, 1, 2].map((n) => sampleTime(MINUTE, PROCESS_SLOTS_MS - 1, n))
    expect(times[0]).toBeGreaterThan(MINUTE + 30_000)
    expect(times[2]).toBeLessThan(MINUTE + 60_000)
    expect(new Set(times).size).toBe(3)
  })

  it("the buffer hands over the minutes that ended and keeps the current one", () => {
    const buffer = makeMinuteBuffer(60)
    buffer.store.merge(MINUTE, bucket())
    buffer.store.merge(MINUTE + 60_000, bucket())
    buffer.store.merge(MINUTE, bucket())
    expect(buffer.store.seriesCount()).toBe(4)
    const taken = buffer.take(MINUTE + 60_000)
    expect(taken.map(([m]) => m)).toEqual([MINUTE])
    expect(taken[0][1].get("s")!.stats.calls).toBe(8)
    expect(buffer.store.seriesCount()).toBe(2)
    expect(buffer.store.has(MINUTE + 60_000, "s")).toBe(true)
    expect(buffer.take().map(([m]) => m)).toEqual([MINUTE + 60_000])
  })
})
