// meshsight's Snappy block compressor against a decoder written from the format description: byte-exact round
// trips for the shapes that matter (empty, short, incompressible, long repeats, more than one 64 KiB block).
// The real TSDBs that read it are in tsdb-export.test.ts.
import { describe, expect, it } from "vitest"
import { snappyCompress } from "../../src/export/snappy.ts"
import { snappyDecode } from "../support/snappy-decode.ts"

const random = (n: number, seed: number) => {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

const text = (s: string) => new TextEncoder().encode(s)

describe("snappyCompress", () => {
  const cases: Record<string, Uint8Array> = {
    empty: new Uint8Array(0),
    "one byte": new Uint8Array([7]),
    "short text": text("hello"),
    "incompressible 100 KiB": random(100_000, 1),
    "one byte repeated 200 KiB": new Uint8Array(200_000).fill(0x61),
    "labels repeated": text('istio_requests_total{reporter="destination",source_workload="productpage-v1"} 1\n'.repeat(5000)),
    "mixed, across blocks": new Uint8Array([...random(70_000, 2), ...text("abcd".repeat(30_000)), ...random(1000, 3)])
  }
  for (const [name, input] of Object.entries(cases)) {
    it(`round-trips ${name}`, () => {
      const compressed = snappyCompress(input)
      expect(Buffer.from(snappyDecode(compressed)).equals(Buffer.from(input))).toBe(true)
      expect(compressed.length).toBeLessThanOrEqual(32 + input.length + input.length / 6)
    })
  }

  it("compresses repeated label text at least tenfold", () => {
    const input = cases["labels repeated"]
    expect(snappyCompress(input).length * 10).toBeLessThan(input.length)
  })
})
