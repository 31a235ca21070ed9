// google.protobuf well-known types read by the ALS codec (field numbers from google/protobuf/*.proto).
import { expectWireType, type WireReader, WireType } from "../util/wire-reader.ts"

const { Varint } = WireType

/** Timestamp and Duration share their layout. */
const SecondsNanosField = { seconds: 1, nanos: 2 } as const
const UInt32ValueField = { value: 1 } as const

/** google.protobuf.Timestamp / Duration → nanoseconds. */
export const readSecondsNanos = (r: WireReader, field: string): number => {
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
