// The pieces of the memory budget on their own: byte-bounded memo tables, the cgroup limit, string cuts at decode,
// and the paged lists' cursors.
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { makeAggregator } from "../../src/aggregation/aggregator.ts"
import type { MeshMetric } from "../../src/domain/mesh-metric.ts"
import { makeMemoryBudget, MIB } from "../../src/memory/budget.ts"
import { parseCgroupLimit, containerMemoryLimitMb } from "../../src/memory/container-limit.ts"
import { WireReader } from "../../src/util/wire-reader.ts"
import { makeQueryService } from "../../src/query/query-service.ts"
import { makeMemoryStore } from "../../src/store/metric-store.ts"
import { MINUTE_MS } from "../../src/domain/minute.ts"
import { BoundedMemo } from "../../src/util/bounded-memo.ts"
import { MAX_STRING_BYTES, takeTruncations, TRUNCATION_MARK } from "../../src/util/bounded-string.ts"
import { meshMetric } from "../support/mesh-metric.ts"

describe("BoundedMemo with a weigher", () => {
  it("starts over when the bytes would pass the bound, keeps the meter in step, and does not keep a value heavier than the bound", () => {
    const meter = { bytes: 0 }
    const memo = new BoundedMemo<string, string>(1000, { maxBytes: 100, weigh: (_, v) => v.length, meter })
    memo.set("a", "x".repeat(60))
    expect([memo.size, memo.bytes, meter.bytes]).toEqual([1, 60, 60])
    memo.set("b", "x".repeat(50)) // 110 > 100: forget a first
    expect([memo.get("a"), memo.size, memo.bytes, meter.bytes]).toEqual([undefined, 1, 50, 50])
    expect(memo.set("c", "x".repeat(101))).toHaveLength(101)
    expect([memo.get("c"), memo.size, meter.bytes]).toEqual([undefined, 1, 50])
    memo.grew(60)
    expect([memo.size, meter.bytes]).toEqual([0, 0])
  })
})

describe("the default budget", () => {
  it("reads the cgroup v2 or v1 limit; max, v1's unlimited and unreadable files mean none", () => {
    expect(parseCgroupLimit("536870912\n")).toBe(512)
    expect(parseCgroupLimit("max\n")).toBeUndefined()
    expect(parseCgroupLimit("9223372036854771712")).toBeUndefined()
    const files: Record<string, string> = { "/sys/fs/cgroup/memory/memory.limit_in_bytes": "268435456" }
    const read = (path: string) => {
      if (!(path in files)) throw new Error("ENOENT")
      return files[path]
    }
    expect(containerMemoryLimitMb(read)).toBe(256)
    expect(containerMemoryLimitMb(() => "max")).toBeUndefined()
    expect(
      containerMemoryLimitMb(() => {
        throw new Error("ENOENT")
      })
    ).toBeUndefined()
  })
})

describe("strings at decode", () => {
  it("a string over MAX_STRING_BYTES is cut on a character boundary, marked and counted", () => {
    takeTruncations()
    const text = "é".repeat(MAX_STRING_BYTES) // two bytes each: the cut falls inside one
    const bytes = Buffer.from(text, "utf8")
    const field = Buffer.concat([Buffer.from([0x0a]), varint(bytes.length), bytes])
    const r = new WireReader(field)
    r.varint()
    const s = r.string()
    expect(s).toBe("é".repeat(MAX_STRING_BYTES / 2) + TRUNCATION_MARK)
    expect(takeTruncations()).toBe(1)
  })
})

const varint = (n: number) => {
  const out: Array<number> = []
  while (n > 127) {
    out.push((n & 127) | 128)
    n >>>= 7
  }
  out.push(n)
  return Buffer.from(out)
}

const T0 = 1_700_000_040_000 - (1_700_000_040_000 % MINUTE_MS)
const call = (path: string, service = "cart", startTimeMs = T0): MeshMetric =>
  meshMetric({
    startTimeMs,
    source: undefined,
    destination: { service, namespace: "shop", instance: `${service}-0`, labels: {} },
    endpoint: `GET:${path}`,
    latencyMs: 5
  })

describe("series under the budget", () => {
  it("new series are refused once retained bytes reach the limit, across minutes; series already stored still count", () => {
    const budget = makeMemoryBudget(120 * MIB + 2 * 1024 * 1024) // 8 MiB floor for retained data
    const store = makeMemoryStore(120, 1_000_000, budget.meter("series"))
    const aggregator = makeAggregator({
      apdexThresholdMs: 500,
      apdexThresholdsMs: {},
      maxSeriesPerMinute: 1_000_000,
      maxEndpointsPerService: 1_000_000,
      retentionStart: () => 0,
      budget,
      isStored: store.has
    })
    aggregator.record([call("/kept")], T0)
    for (const [minute, bucket] of aggregator.drain(0).buckets) store.merge(minute, bucket)
    // ~800 bytes a series: 8 MiB hold about 10 000; offer 30 000 over 100 minutes.
    for (let m = 0; m < 100; m++)
      aggregator.record(
        Array.from({ length: 300 }, (_, i) => call(`/p${i}`, "cart", T0 + m * MINUTE_MS)),
        T0 + 100 * MINUTE_MS
      )
    aggregator.record([call("/kept")], T0)
    const drained = aggregator.drain(0)
    expect(drained.refusedForMemory).toBeGreaterThan(15_000)
    for (const [minute, bucket] of drained.buckets) store.merge(minute, bucket)
    expect(budget.used()).toBeLessThanOrEqual(budget.retainedLimitBytes + 1000)
    const kept = store.read(T0, T0 + MINUTE_MS)[0][1].get(["e", "cart", "GET:/kept"].join("\u0000"))
    expect(kept?.stats.calls).toBe(2)
    store.prune(T0 + 500 * MINUTE_MS)
    expect(budget.meter("series").bytes).toBe(0)
  })
})

describe("paged lists", () => {
  it("following the cursors yields every endpoint once, in order, and pages hold at most `limit`", async () => {
    const store = makeMemoryStore(120, 1_000_000)
    const aggregator = makeAggregator({
      apdexThresholdMs: 500,
      apdexThresholdsMs: {},
      maxSeriesPerMinute: 1_000_000,
      maxEndpointsPerService: 1_000_000,
      retentionStart: () => 0
    })
    // The same 2 500 endpoints in two minutes, and another service's.
    for (const minute of [T0, T0 + MINUTE_MS])
      aggregator.record(
        Array.from({ length: 2500 }, (_, i) => call(`/p${i}`, "cart", minute)),
        T0
      )
    aggregator.record([call("/other", "web")], T0)
    for (const [minute, bucket] of aggregator.drain(0).buckets) store.merge(minute, bucket)
    const query = makeQueryService(store)
    const range = { start: T0, end: T0 + 2 * MINUTE_MS }
    const names: Array<string> = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await Effect.runPromise(query.endpoints("cart", range, { limit: 1000, cursor }))
      expect(page!.endpoints.length).toBeLessThanOrEqual(1000)
      for (const e of page!.endpoints) {
        names.push(e.name)
        expect(e.metrics.calls).toBe(2)
      }
      cursor = page!.nextCursor ?? undefined
      pages++
    } while (cursor !== undefined)
    expect(pages).toBe(3)
    expect(names.length).toBe(2500)
    expect(new Set(names).size).toBe(2500)
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)))
    const services = await Effect.runPromise(query.services(range, undefined, { limit: 1 }))
    expect([services.services.map((s) => s.name), services.nextCursor]).toEqual([["cart"], "cart"])
  })
})
