// The wire reader's strings: interned ones (compared word by word against the slot's bytes) come back exactly as
// written, whatever buffer they sit in and whichever strings shared their slot before.
import { describe, expect, it } from "vitest"
import { WireReader } from "../../src/util/wire-reader.ts"
import { concat, lenField, stringField } from "../protocol/support/wire.ts"

/** Every string field of `bytes`, read with `read`. */
const readAll = (bytes: Uint8Array, read: (r: WireReader) => string = (r) => r.string()): Array<string> => {
  const r = new WireReader(bytes)
  const out: Array<string> = []
  while (r.pos < r.end) {
    r.varint()
    out.push(read(r))
  }
  return out
}

/** `bytes` at offset 3 of a larger buffer, as a Buffer or a plain Uint8Array. */
const placed = (bytes: Uint8Array, asBuffer: boolean): Uint8Array => {
  const backing = new ArrayBuffer(bytes.length + 8)
  new Uint8Array(backing).set(bytes, 3)
  return asBuffer ? Buffer.from(backing, 3, bytes.length) : new Uint8Array(backing, 3, bytes.length)
}

describe("WireReader strings", () => {
  // Same length, differing in one byte in the middle and at the end: many share an intern slot.
  const names = Array.from({ length: 3_000 }, (_, i) => `outbound|9080||svc-${String(i).padStart(4, "0")}.default.svc.cluster.local`)
  const texts = [...names, "", "a", "abc", "äöü", "ünïcödé-clüster", "x".repeat(96), "y".repeat(97), "\uFEFFbom"]

  it("reads each string as written, on first reads and on repeated ones, from Buffers and Uint8Arrays at any offset", () => {
    const bytes = concat(...texts.map((t) => stringField(1, t)))
    for (const asBuffer of [true, false]) {
      for (let round = 0; round < 3; round++) expect(readAll(placed(bytes, asBuffer))).toEqual(texts)
    }
    // Interleaved with other strings of the same length, in reverse order.
    const reversed = concat(...[...texts].reverse().map((t) => stringField(1, t)))
    expect(readAll(placed(reversed, false))).toEqual([...texts].reverse())
  })

  it("reads strings inside sub-messages exactly, through recycled child readers", () => {
    const message = concat(
      ...names.slice(0, 200).map((n, i) => lenField(2, lenField(3, concat(stringField(1, n), stringField(2, names[i + 1])))))
    )
    for (const asBuffer of [true, false]) {
      const r = new WireReader(placed(message, asBuffer))
      const out: Array<string> = []
      while (r.pos < r.end) {
        r.varint()
        const outer = r.sub()
        outer.varint()
        const inner = outer.sub()
        while (inner.pos < inner.end) {
          inner.varint()
          out.push(inner.string())
        }
      }
      expect(out).toEqual(names.slice(0, 200).flatMap((n, i) => [n, names[i + 1]]))
    }
  })

  it("a repeating bounded string reads as a bounded one: whole when short, cut at a character when long", () => {
    const values = ["Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "é".repeat(40), "Mozilla/5.0 ".repeat(30), "é".repeat(200)]
    const bytes = concat(...values.map((v) => stringField(1, v)))
    for (let round = 0; round < 2; round++) {
      expect(readAll(bytes, (r) => r.repeatingBoundedString(64))).toEqual(readAll(bytes, (r) => r.boundedString(64)))
    }
    expect(readAll(bytes, (r) => r.repeatingBoundedString(64))).toEqual([
      values[0],
      values[1],
      "é".repeat(32),
      values[3].slice(0, 64),
      "é".repeat(32)
    ])
  })

  it("invalid UTF-8 fails the same way whether or not it could be interned", () => {
    const bad = lenField(1, Uint8Array.of(0x61, 0xc3, 0x28))
    expect(() => readAll(bad)).toThrow("string is not valid UTF-8")
    expect(() => readAll(bad, (r) => r.repeatingBoundedString(256))).toThrow("string is not valid UTF-8")
  })
})
