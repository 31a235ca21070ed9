// google.protobuf well-known types read by the ALS codec (field numbers from google/protobuf/*.proto).
import { expectWireType, type WireReader, WireType } from "../util/wire-reader.ts"

const { Varint } = WireType

/** Timestamp and Duration share their layout. */
const SecondsNanosField = { seconds: 1, nanos: 2 } as const
const UInt32ValueField = { value: 1 } as const

/**
 * Timestamp / Duration → nanoseconds as Envoy writes them (the start Timestamp and seven Durations per entry): only
 * the two fields, each a varint of at most 5 bytes. NaN for anything else (negative values take 10 bytes, other
 * fields or wire types, a varint running past `end`), which `readSecondsNanos` then reads field by field. The same
 * values `int64()` and `int32()` give. The varint's first four bytes are shifted in (28 bits: a positive int32),
 * only a fifth is a float multiply. The tags are written out, 8 for `seconds` and 16 for `nanos` (field << 3 |
 * varint): V8 loads a module-level constant from the module's context on each use, and this runs eight times per
 * entry.
 */
const plainSecondsNanos = (buf: Uint8Array, start: number, end: number): number => {
  let seconds = 0
  let nanos = 0
  let pos = start
  while (pos < end) {
    const tag = buf[pos++]
    if (tag !== 8 && tag !== 16) return Number.NaN
    // Past `end` (a truncated varint) reads what follows, or undefined past the buffer (`& 0x7f` → 0, not ≥ 0x80):
    // the check after the varint turns either into NaN.
    let b = 0x80
    let value = 0
    for (let shift = 0; shift < 28 && b >= 0x80; shift += 7) {
      b = buf[pos++]
      value |= (b & 0x7f) << shift
    }
    if (b >= 0x80) {
      b = buf[pos++]
      if (b >= 0x80) return Number.NaN
      value += b * 268435456 // 2^28
    }
    if (pos > end) return Number.NaN
    if (tag === 8) seconds = value
    else nanos = value | 0 // int32: the low 32 bits, as `int32()` keeps them
  }
  return seconds * 1e9 + nanos
}

/**
 * The next field, a google.protobuf.Timestamp / Duration (length-delimited), → nanoseconds. Read in place, without
 * a sub-reader, when Envoy's plain layout; field by field otherwise.
 */
export const readSecondsNanos = (r: WireReader, field: string): number => {
  const at = r.pos
  const len = r.length()
  const plain = plainSecondsNanos(r.buf, r.pos, r.pos + len)
  if (!Number.isNaN(plain)) {
    r.pos += len
    return plain
  }
  r.pos = at
  const m = r.sub()
  let seconds = 0
  let nanos = 0
  while (m.pos < m.end) {
    const tag = m.varint()
    const f = tag >>> 3
    // The field's name is passed in parts: building it for each of the eight per entry was a hot allocation.
    if (f === SecondsNanosField.seconds) {
      expectWireType(tag & 7, Varint, field, ".seconds")
      seconds = m.int64()
    } else if (f === SecondsNanosField.nanos) {
      expectWireType(tag & 7, Varint, field, ".nanos")
      nanos = m.int32()
    } else m.skip(tag & 7)
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
