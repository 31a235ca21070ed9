import { describe, expect, it } from "vitest"
import { fnv1aBytes, viewOfBuffer } from "../../src/util/fnv1a.ts"

// The mx-mesh peer cache finds a peer value's bucket by this hash and then compares bytes, so a byte the hash
// skipped would only cost speed, never correctness; these tests hold it to reading every byte.
describe("fnv1aBytes", () => {
  it("changes when any one byte changes, in both lanes and in the tail, for every length up to 40", () => {
    for (let length = 0; length <= 40; length++) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 37 + 11) & 0xff)
      const original = fnv1aBytes(bytes)
      for (let at = 0; at < length; at++) {
        const changed = bytes.slice()
        changed[at] ^= 0x40
        expect(fnv1aBytes(changed), `length ${length}, byte ${at}`).not.toBe(original)
      }
    }
  })

  it("depends on the length, and only on the bytes of the view it is given", () => {
    expect(fnv1aBytes(new Uint8Array(8))).not.toBe(fnv1aBytes(new Uint8Array(9)))
    const backing = Uint8Array.from({ length: 64 }, (_, i) => i)
    const view = backing.subarray(5, 5 + 29)
    expect(fnv1aBytes(view)).toBe(fnv1aBytes(view.slice()))
  })

  it("gives the same value through a view of the whole buffer, reused for every value in that buffer", () => {
    const message = Uint8Array.from({ length: 700 }, (_, i) => (i * 101 + 7) & 0xff)
    const values = [message.subarray(3, 303), message.subarray(310, 610), message.subarray(611, 700)]
    let view: DataView | undefined
    for (const value of values) {
      const reused = viewOfBuffer(value, view)
      if (view !== undefined) expect(reused).toBe(view)
      view = reused
      expect(fnv1aBytes(value, view)).toBe(fnv1aBytes(value.slice()))
    }
    const other = values[0].slice()
    expect(viewOfBuffer(other, view)).not.toBe(view)
  })
})
