// google.protobuf well-known types read by the ALS codec (field numbers from google/protobuf/*.proto).
import { expectWireType, type WireReader, WireType } from "../util/wire-reader.ts"

const { Varint } = WireType

/** Timestamp and Duration share their layout. */
const SecondsNanosField = { seconds: 1, nanos: 2 } as const
const UInt32ValueField = { value: 1 } as const

/**
 * Timestamp / Duration → nanoseconds as Envoy writes them (eight Durations and a Timestamp per entry): only the two
 * fields, each a varint of at most 5 bytes. NaN for anything else (negative values take 10 bytes, other fields or
 * wire types), which `readSecondsNanos` then reads field by field. The same values `int64()` and `int32()` give.
 * The tags are written out, 8 for `seconds` and 16 for `nanos` (field << 3 | varint): V8 loads a module-level
 * constant from the module's context on each use, and this loop runs nine times per entry.
 */
const plainSecondsNanos = (buf: Uint8Array, start: number, end: number): number => {
  let seconds = 0
  let nanos = 0
  let pos = start
  while (pos < end) {
    const tag = buf[pos++]
    if (tag !== 8 && tag !== 16) return Number.NaN
    let value = 0
    let scale = 1
    for (let b = 0x80; b >= 0x80; scale *= 128) {
      if (pos >= end || scale > 2 ** 28) return Number.NaN
      b = buf[pos++]
      value += (b & 0x7f) * scale
    }
    if (tag === 8) seconds = value
    else nanos = value | 0 // int32: the low 32 bits, as `int32()` keeps them
  }
  return seconds * 1e9 + nanos
}

/** google.protobuf.Timestamp / Duration → nanoseconds. */
export const readSecondsNanos = (r: WireReader, field: string): number => {
  const plain = plainSecondsNanos(r.buf, r.pos, r.end)
  if (!Number.isNaN(plain)) {
    r.pos = r.end
    return plain
  }
  let seconds = 0
  let nanos = 0
  while (r.pos < r.end) {
    const tag = r.varint()
    const f = tag >>> 3
    // The field's name is passed in parts: eight durations per entry made building it a hot allocation.
    if (f === SecondsNanosField.seconds) {
      expectWireType(tag & 7, Varint, field, ".seconds")
      seconds = r.int64()
    } else if (f === SecondsNanosField.nanos) {
      expectWireType(tag & 7, Varint, field, ".nanos")
      nanos = r.int32()
    } else r.skip(tag & 7)
  }
  return seconds * 1e9 + nanos
}

export const readUInt32Value = (r: WireReader): number => {
  let value = 0
  while (r.pos < r.end) {
    const tag = r.varint()
    if (tag >>> 3 === UInt32ValueField.value) {
      expectWireType(tag & 7, Varint, "UInt32Value.value")
      value = r.varint()
    } else r.skip(tag & 7)
  }
  return value
}
