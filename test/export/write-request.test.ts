// Remote-write bodies are Snappy blocks written directly (src/export/write-request.ts): checked against the
// `snappy` package's own decoder (Rust's snap), byte for byte, on random sequences of writes that reach every
// element form — literals of each length size, copies with 2- and 4-byte offsets, runs of pieces merged into one
// copy — and on a snapshot, for the copies' point: a label set's repeats cost a few bytes each.
import { describe, expect, it } from "vitest"
import { uncompressSync } from "snappy"
import { encodeLabel, ProtoWriter, SnappyBlockWriter, writeTimeSeries } from "../../src/export/write-request.ts"
import { decodeWriteRequest } from "../support/write-request.ts"

/** A seeded generator (mulberry32): a failure names its seed. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
}

const bytesOf = (n: number, next: () => number) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256))

/** The same writes as plain protobuf bytes: what the block must decompress to. */
const plainSample = (w: ProtoWriter, value: number, timestampMs: number) => {
  const inner = new ProtoWriter(16)
  inner.varint((1 << 3) | 1)
  inner.double(value)
  inner.varint(2 << 3)
  inner.varint(timestampMs)
  const body = inner.take()
  w.varint((2 << 3) | 2)
  w.varint(body.length)
  w.bytes(body)
}

const unsnappy = (block: Uint8Array) => new Uint8Array(uncompressSync(Buffer.from(block)) as Buffer)
/** Where two byte arrays first differ (their lengths, then their bytes), -1 when equal: a diff of 100 kB is unreadable. */
const firstDifference = (a: Uint8Array, b: Uint8Array) => {
  if (a.length !== b.length) return Math.min(a.length, b.length)
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i
  return -1
}

describe("Snappy block writer", () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])("decompresses to exactly the bytes written (seed %i)", (seed) => {
    const next = random(seed)
    // Pieces from 1 byte to 70 kB: long ones make literals past 65 536 bytes and push earlier pieces beyond a
    // 2-byte offset.
    const pieces = [1, 5, 30, 61, 64, 65, 200, 257, 1000, 4000, 70_000].map((n) => bytesOf(n, next))
    const block = new SnappyBlockWriter()
    for (let request = 0; request < 3; request++) {
      const plain = new ProtoWriter()
      for (let op = 0; op < 400; op++) {
        const r = next()
        if (r < 0.2) {
          const v = Math.floor(next() * 2 ** (next() * 53))
          block.varint(v)
          plain.varint(v)
        } else if (r < 0.3) {
          const v = (next() - 0.5) * 1e6
          block.double(v)
          plain.double(v)
        } else if (r < 0.45) {
          const [v, t] = [next() * 100, 1_700_000_000_000 + Math.floor(next() * 3) * 15_000]
          block.sample(v, t)
          plainSample(plain, v, t)
        } else {
          // Mostly the small pieces, in runs, so that consecutive pieces repeat in the same order.
          const p = pieces[Math.floor(next() ** 3 * pieces.length)]
          block.piece(p)
          plain.bytes(p)
        }
      }
      // Each request is a block of its own: pieces of the one before are not copied from.
      expect(firstDifference(unsnappy(block.take()), plain.take())).toBe(-1)
    }
  })

  it("a series' TimeSeries after its first cost a few bytes each, and decode to their labels and samples", () => {
    const labels = Array.from({ length: 25 }, (_, i) => encodeLabel(`label_${String(i).padStart(2, "0")}`, `value-${i}-${"x".repeat(20)}`))
    const name = encodeLabel("__name__", "istio_requests_total")
    const block = new SnappyBlockWriter()
    for (let i = 0; i < 1000; i++) writeTimeSeries(block, [name, ...labels], i, 1_700_000_000_000, i === 0 ? 1_699_999_985_000 : undefined)
    const body = block.take()
    const decoded = decodeWriteRequest(body)
    expect(decoded).toHaveLength(1000)
    expect(decoded[7].labels.label_24).toBe(`value-24-${"x".repeat(20)}`)
    expect(decoded[0].samples).toStrictEqual([
      [0, 1_699_999_985_000],
      [0, 1_700_000_000_000]
    ])
    expect(decoded[999].samples).toStrictEqual([[999, 1_700_000_000_000]])
    // ~1.1 kB of labels per TimeSeries, as copies of 64 bytes at 3 bytes each, and the value.
    const raw = unsnappy(body).length
    expect(raw / 1000).toBeGreaterThan(1000)
    expect(body.length / 1000).toBeLessThan(80)
  })
})
