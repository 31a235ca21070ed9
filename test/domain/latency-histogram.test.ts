import { describe, expect, it } from "vitest"
import { bucketOf, bucketValue, LatencyHistogram, MAX_DURATION_MS } from "../../src/domain/latency-histogram.ts"

/** Exact nearest-rank percentile of a sample. */
const exact = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]
}

/** A small seeded PRNG so the samples are the same every run. */
const prng = (seed: number) => () => {
  seed = (seed * 1664525 + 1013904223) >>> 0
  return seed / 2 ** 32
}

describe("latency histogram", () => {
  it("is exact below 32 ms", () => {
    for (let v = 0; v < 32; v++) expect(bucketValue(bucketOf(v))).toBe(v)
  })

  it("keeps every value within 3.2 % of its bucket's value, buckets in order", () => {
    let previous = -1
    for (let v = 1; v < 5_000_000; v = Math.ceil(v * 1.01)) {
      const b = bucketOf(v)
      expect(b).toBeGreaterThanOrEqual(previous)
      previous = b
      expect(Math.abs(bucketValue(b) - v) / v).toBeLessThanOrEqual(0.032)
    }
  })

  it("stays correct past 32 bits, up to the longest Duration Envoy can log (315,576,000,000 s)", () => {
    let previous = bucketOf(2 ** 31)
    for (let v = 2 ** 31; v <= MAX_DURATION_MS; v = Math.ceil(v * 1.013)) {
      const b = bucketOf(v)
      expect(b).toBeGreaterThanOrEqual(previous)
      previous = b
      expect(Math.abs(bucketValue(b) - v) / v).toBeLessThanOrEqual(0.032)
    }
    for (const v of [2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40, 2 ** 40 + 12345, MAX_DURATION_MS]) {
      expect(Math.abs(bucketValue(bucketOf(v)) - v) / v).toBeLessThanOrEqual(0.032)
      expect(bucketOf(v)).toBeGreaterThan(bucketOf(2 ** 31))
    }
    // Each power of two starts a new group of 16 buckets, also where Math.log2 would round.
    for (let e = 5; e < 49; e++) {
      expect(bucketOf(2 ** e) - bucketOf(2 ** e - 1)).toBe(1)
      expect(bucketOf(2 ** e)).toBe(32 + (e - 5) * 16)
    }
    expect(bucketOf(Number.MAX_SAFE_INTEGER)).toBe(bucketOf(MAX_DURATION_MS))
    const h = new LatencyHistogram()
    for (const v of [5, 2 ** 32, 2 ** 40, MAX_DURATION_MS]) h.record(v)
    const [p25, p50, p75, p100] = h.percentiles([25, 50, 75, 100])
    expect(p25).toBe(5)
    expect(Math.abs(p50! - 2 ** 32) / 2 ** 32).toBeLessThanOrEqual(0.032)
    expect(Math.abs(p75! - 2 ** 40) / 2 ** 40).toBeLessThanOrEqual(0.032)
    expect(Math.abs(p100! - MAX_DURATION_MS) / MAX_DURATION_MS).toBeLessThanOrEqual(0.032)
  })

  it("percentiles are within the documented error of the exact ones", () => {
    const random = prng(7)
    // log-normal-ish latencies from 1 ms to minutes
    const values = Array.from({ length: 20_000 }, () => Math.floor(Math.exp(random() * 12)))
    const h = new LatencyHistogram()
    for (const v of values) h.record(v)
    const ps = [50, 75, 90, 95, 99]
    h.percentiles(ps).forEach((got, i) => {
      const want = exact(values, ps[i])
      expect(Math.abs(got - want)).toBeLessThanOrEqual(Math.max(1, want * 0.032))
    })
  })

  it("merging histograms equals recording everything into one", () => {
    const random = prng(11)
    const values = Array.from({ length: 5_000 }, () => Math.floor(random() * 3000))
    const whole = new LatencyHistogram()
    const parts = [new LatencyHistogram(), new LatencyHistogram(), new LatencyHistogram()]
    values.forEach((v, i) => {
      whole.record(v)
      parts[i % 3].record(v)
    })
    const merged = new LatencyHistogram()
    for (const p of parts) merged.merge(p)
    expect(merged.total).toBe(whole.total)
    expect(merged.percentiles([50, 90, 99])).toEqual(whole.percentiles([50, 90, 99]))
    expect([...merged.counts].sort()).toEqual([...whole.counts].sort())
  })

  it("an empty histogram reports zeros", () => {
    expect(new LatencyHistogram().percentiles([50, 99])).toEqual([0, 0])
  })
})
