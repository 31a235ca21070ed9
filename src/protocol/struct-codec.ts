// google.protobuf.Struct / Value / ListValue → plain JSON values.
import type { JsonObject, JsonValue } from "../domain/access-log.ts"
import { expectWireType, WireError, WireReader, WireType } from "../util/wire-reader.ts"

const MAX_DEPTH = 32

/** Struct: `map<string, Value> fields = 1`. */
export const readStruct = (r: WireReader, depth = 0): Record<string, JsonValue> => {
  if (depth > MAX_DEPTH) throw new WireError("Struct nested too deeply")
  const out: Record<string, JsonValue> = {}
  while (r.pos < r.end) {
    const tag = r.varint()
    if (tag >>> 3 !== 1) {
      r.skip(tag & 7)
      continue
    }
    expectWireType(tag & 7, WireType.Bytes, "Struct.fields")
    const e = r.sub()
    let key = ""
    let value: JsonValue = null
    while (e.pos < e.end) {
      const t = e.varint()
      const f = t >>> 3
      if (f === 1) {
        expectWireType(t & 7, WireType.Bytes, "Struct.fields.key")
        key = e.string()
      } else if (f === 2) {
        expectWireType(t & 7, WireType.Bytes, "Struct.fields.value")
        value = readValue(e.sub(), depth + 1)
      } else e.skip(t & 7)
    }
    // `out["__proto__"] = v` would set the object's prototype instead of adding the key Envoy sent.
    if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
    else out[key] = value
  }
  return out
}

/** Value: oneof null_value 1, number_value 2, string_value 3, bool_value 4, struct_value 5, list_value 6. */
export const readValue = (r: WireReader, depth: number): JsonValue => {
  let value: JsonValue = null
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    switch (tag >>> 3) {
      case 1:
        expectWireType(wt, WireType.Varint, "Value.null_value")
        r.varint()
        value = null
        break
      case 2:
        expectWireType(wt, WireType.Fixed64, "Value.number_value")
        value = r.double()
        break
      case 3:
        expectWireType(wt, WireType.Bytes, "Value.string_value")
        value = r.string()
        break
      case 4:
        expectWireType(wt, WireType.Varint, "Value.bool_value")
        value = r.bool()
        break
      case 5:
        expectWireType(wt, WireType.Bytes, "Value.struct_value")
        value = readStruct(r.sub(), depth + 1)
        break
      case 6: {
        expectWireType(wt, WireType.Bytes, "Value.list_value")
        value = readList(r.sub(), depth + 1)
        break
      }
      default:
        r.skip(wt)
    }
  }
  return value
}

const readList = (r: WireReader, depth: number): Array<JsonValue> => {
  if (depth > MAX_DEPTH) throw new WireError("ListValue nested too deeply")
  const out: Array<JsonValue> = []
  while (r.pos < r.end) {
    const tag = r.varint()
    if (tag >>> 3 === 1) {
      expectWireType(tag & 7, WireType.Bytes, "ListValue.values")
      out.push(readValue(r.sub(), depth + 1))
    } else r.skip(tag & 7)
  }
  return out
}

/** Decodes a serialized `google.protobuf.Struct`. */
export const decodeStruct = (bytes: Uint8Array): JsonObject => readStruct(new WireReader(bytes))
