// The in-memory store keeps a minute's series as rows of typed arrays (src/store/minute-table.ts) and entities once
// for all minutes (src/store/entity-registry.ts): what it reads back must equal the same SeriesStats merged as
// objects, whatever the order of merges, histogram widening, growth, settling and pruning.
import { describe, expect, it } from "vitest"
import type { MeshMetric } from "../../src/domain/mesh-metric.ts"
import type { Entity, MinuteBucket, Series } from "../../src/domain/series.ts"
import { SeriesStats } from "../../src/domain/series-stats.ts"
import { makeMemoryStore } from "../../src/store/metric-store.ts"
import { meshMetric } from "../support/mesh-metric.ts"

const T0 = Date.UTC(2026, 10, 25, 10, 0, 0)
const MIN = 60_000

/** A small seeded PRNG so the records are the same every run. */
const prng = (seed: number) => () => {
  seed = (seed * 1664525 + 1013904223) >>> 0
  return seed / 2 ** 32
}

const entityOf = (n: number): Entity => ({ scope: "endpoint", service: `svc-${n % 7}`, namespace: "shop", endpoint: `GET:/p${n}` })
const keyOf = (n: number) => `e\u0000svc-${n % 7}\u0000GET:/p${n}`

/** Records of every kind the store keeps: HTTP, gRPC, TCP, failures, response flags, sidecar latencies, wide latencies. */
const randomRecord = (random: () => number): MeshMetric => {
  const r = random()
  const over: Partial<MeshMetric> = {
    latencyMs: Math.floor(random() < 0.5 ? random() * 40 : random() ** 3 * 100_000),
    responseCode: [200, 200, 200, 404, 503, 0][Math.floor(random() * 6)],
    success: random() < 0.8,
    internalErrorCode: random() < 0.1 ? ["UH", "NR", "UF"][Math.floor(random() * 3)] : "",
    protocol: r < 0.1 ? "TCP" : r < 0.3 ? "gRPC" : "HTTP",
    receivedBytes: Math.floor(random() * 1e6),
    sentBytes: Math.floor(random() * 1e6)
  }
  if (random() < 0.5) Object.assign(over, { sidecarInternalReqLatencyNs: Math.floor(random() * 1e6) })
  if (random() < 0.5) Object.assign(over, { sidecarInternalRespLatencyNs: Math.floor(random() * 1e6) })
  return meshMetric({ startTimeMs: T0, ...over })
}

/** Everything a SeriesStats tells the query side. */
const view = (s: SeriesStats) => ({
  calls: s.calls,
  successes: s.successes,
  latencySumMs: s.latencySumMs,
  latency: [...s.latency.counts],
  total: s.latency.total,
  percentiles: s.latency.percentiles([50, 90, 99]),
  apdex: s.apdex && [...s.apdex],
  hasApdex: s.hasApdex,
  codes: s.statusCodeCounts(),
  flags: s.responseFlags === undefined ? undefined : [...s.responseFlags],
  httpCalls: s.httpCalls,
  grpcCalls: s.grpcCalls,
  tcp: s.tcp && { ...s.tcp },
  sidecar: [s.sidecarReqNsSum, s.sidecarReqCount, s.sidecarRespNsSum, s.sidecarRespCount]
})

describe("in-memory store", () => {
  it("reads back what SeriesStats merged as objects hold, over many flushes, series and minutes", () => {
    const random = prng(7)
    const store = makeMemoryStore(120, 1_000_000)
    const expected = new Map<string, SeriesStats>()
    for (let flush = 0; flush < 60; flush++) {
      const minute = T0 + Math.floor(random() * 3) * MIN
      const bucket: MinuteBucket = new Map()
      for (let i = 0; i < 200; i++) {
        const n = Math.floor(random() ** 2 * 3000)
        const key = keyOf(n)
        let series: Series | undefined = bucket.get(key)
        if (series === undefined) {
          series = { entity: entityOf(n), stats: new SeriesStats(n % 5 === 0) }
          bucket.set(key, series)
        }
        const m = randomRecord(random)
        series.stats.record(m, 50)
        const ref = `${minute}/${key}`
        let e = expected.get(ref)
        if (e === undefined) expected.set(ref, (e = new SeriesStats(n % 5 === 0)))
        e.record(m, 50)
      }
      store.merge(minute, bucket)
      // The flush beat: settled minutes give back spare room, and may still take late records.
      store.prune(T0 + 3 * MIN)
    }
    expect(store.seriesCount()).toBe(expected.size)
    let read = 0
    for (const [minute, table] of store.read(T0, T0 + 3 * MIN)) {
      for (const [key, series] of table) {
        read++
        expect(view(series.stats)).toEqual(view(expected.get(`${minute}/${key}`)!))
        expect(series.entity).toEqual(entityOf(Number(key.slice(key.lastIndexOf("p") + 1))))
        expect(view(table.get(key)!.stats)).toEqual(view(series.stats))
        expect(table.has(key)).toBe(true)
      }
      expect(table.get(keyOf(999_999))).toBeUndefined()
    }
    expect(read).toBe(expected.size)
  })

  it("keeps counts past 32 bits and fractions exactly (rows move to 64-bit numbers)", () => {
    const store = makeMemoryStore(120, 1_000_000)
    const big = () => {
      const s = new SeriesStats(false)
      s.record(meshMetric({ startTimeMs: T0, latencyMs: 3 }), 0)
      s.calls = 2 ** 32 + 5
      s.sidecarReqCount = 0.5
      s.latency.assign(3, [2 ** 32 - 1, 0, 7])
      return s
    }
    const bucket = (n: number): MinuteBucket => new Map([[keyOf(n), { entity: entityOf(n), stats: big() }]])
    store.merge(T0, bucket(1))
    store.merge(T0, bucket(2))
    store.merge(T0, bucket(1))
    const expected = big()
    expected.merge(big())
    const table = store.read(T0, T0 + MIN)[0][1]
    expect(view(table.get(keyOf(1))!.stats)).toEqual(view(expected))
    expect(view(table.get(keyOf(2))!.stats)).toEqual(view(big()))
  })

  it("a read's stats are a copy: changing them leaves the store alone", () => {
    const store = makeMemoryStore(120, 1_000_000)
    const stats = new SeriesStats(true)
    stats.record(randomRecord(prng(1)), 50)
    store.merge(T0, new Map([[keyOf(1), { entity: entityOf(1), stats }]]))
    const first = store.read(T0, T0 + MIN)[0][1].get(keyOf(1))!.stats
    const before = view(first)
    first.merge(first)
    expect(view(store.read(T0, T0 + MIN)[0][1].get(keyOf(1))!.stats)).toEqual(before)
  })

  it("each minute keeps its own entity; pruned minutes let their entities go, and a key held again gets the one it comes with", () => {
    const store = makeMemoryStore(2, 1_000_000)
    const bucket = (n: number, namespace: string): MinuteBucket => {
      const stats = new SeriesStats(false)
      stats.record(meshMetric({ startTimeMs: T0 }), 0)
      return new Map([[keyOf(n), { entity: { ...entityOf(n), namespace }, stats }]])
    }
    store.merge(T0, bucket(1, "old"))
    store.merge(T0 + MIN, bucket(1, "newer"))
    const held = store.read(T0, T0 + 2 * MIN)
    // Each minute keeps the entity its first record made, as a Map per minute did.
    expect(held.map(([, t]) => (t.get(keyOf(1))!.entity as { namespace: string }).namespace)).toEqual(["old", "newer"])
    expect([...held[1][1].values()].map((v) => (v.entity as { namespace: string }).namespace)).toEqual(["newer"])
    store.prune(T0 + 3 * MIN)
    expect(store.seriesCount()).toBe(0)
    // A minute read before it was dropped reads as empty afterwards.
    expect(held[0][1].size).toBe(0)
    expect([...held[0][1]]).toEqual([])
    store.merge(T0 + 3 * MIN, bucket(2, "a"))
    store.merge(T0 + 3 * MIN, bucket(1, "new"))
    const [[, table]] = store.read(T0 + 3 * MIN, T0 + 4 * MIN)
    expect([...table.keys()]).toEqual([keyOf(2), keyOf(1)])
    expect((table.get(keyOf(1))!.entity as { namespace: string }).namespace).toBe("new")
    expect(table.get(keyOf(1))!.stats.calls).toBe(1)
  })

  it("refuses new series past the minute's limit and merges into the ones it holds", () => {
    const store = makeMemoryStore(120, 2)
    const bucket = (...ns: ReadonlyArray<number>): MinuteBucket =>
      new Map(
        ns.map((n) => {
          const stats = new SeriesStats(false)
          stats.record(meshMetric({ startTimeMs: T0 }), 0)
          return [keyOf(n), { entity: entityOf(n), stats }]
        })
      )
    expect(store.merge(T0, bucket(1, 2, 3))).toBe(1)
    expect(store.merge(T0, bucket(1, 4))).toBe(1)
    expect(store.has(T0, keyOf(1))).toBe(true)
    expect(store.has(T0, keyOf(3))).toBe(false)
    expect(store.read(T0, T0 + MIN)[0][1].get(keyOf(1))!.stats.calls).toBe(2)
  })
})
