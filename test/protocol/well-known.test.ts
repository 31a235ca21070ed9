// Timestamps and Durations read in place from their parent message: Envoy's plain layout (two varints of up to five
// bytes) and everything else, which goes field by field, give the values and errors a field-by-field read gives.
import { describe, expect, it } from "vitest"
import { readSecondsNanos } from "../../src/protocol/well-known.ts"
import { WireError, WireReader } from "../../src/util/wire-reader.ts"

/** Reads the length-delimited field at the start of `bytes`; what follows it is another field's. */
const read = (bytes: ReadonlyArray<number>) => {
  const r = new WireReader(new Uint8Array(bytes))
  return { value: readSecondsNanos(r, "time_to_last_rx_byte"), pos: r.pos }
}

describe("readSecondsNanos", () => {
  it.each([
    ["empty", [0], 0, 1],
    ["nanos, two bytes", [3, 0x10, 0xe8, 0x07, 0x08], 1000, 4],
    ["seconds and nanos", [5, 0x08, 0x02, 0x10, 0xe8, 0x07], 2e9 + 1000, 6],
    ["seconds, five bytes (the fifth multiplied in)", [6, 0x08, 0x80, 0x80, 0x80, 0x80, 0x01], 2 ** 28 * 1e9, 7],
    ["seconds, six bytes (field by field)", [7, 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 2 ** 35 * 1e9, 8],
    ["nanos −1 (a ten-byte varint, field by field)", [11, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], -1, 12],
    ["an unknown field skipped", [4, 0x18, 0x05, 0x10, 0x07], 7, 5]
  ])("%s", (_, bytes, value, pos) => {
    expect(read(bytes)).toEqual({ value, pos })
  })

  it("a varint that runs past its message is an error, not a read of the next field's bytes", () => {
    // The Duration is 2 bytes long, its varint goes on into the next field (0x01).
    expect(() => read([2, 0x08, 0x80, 0x01, 0x01])).toThrow(new WireError("truncated varint"))
    // … or past the end of the buffer.
    expect(() => read([2, 0x08, 0x80])).toThrow(new WireError("truncated varint"))
    expect(() => read([1, 0x08])).toThrow(new WireError("truncated varint"))
  })

  it("a wrong wire type names the field", () => {
    expect(() => read([3, 0x0a, 0x01, 0x00])).toThrow(new WireError("time_to_last_rx_byte.seconds: wire type 2, expected 0"))
  })
})
