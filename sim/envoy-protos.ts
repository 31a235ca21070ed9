// Envoy's official protos (npm @grpc/grpc-js-xds, deps/), loaded with protobufjs, to build messages exactly as
// Envoy encodes them: used by the traffic simulator, the benchmarks and the tests. Not part of the service.
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import protobuf from "protobufjs"

const require = createRequire(import.meta.url)
const deps = join(dirname(require.resolve("@grpc/grpc-js-xds/package.json")), "deps")
const INCLUDE = [
  ...["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => join(deps, d)),
  dirname(require.resolve("protobufjs/package.json")), // google/protobuf/descriptor.proto
  // Last, for io/prometheus/client/metrics.proto only: Envoy's metrics service imports it, the package lacks it.
  fileURLToPath(new URL("../proto/", import.meta.url))
]

const loadOfficial = (files: ReadonlyArray<string>): protobuf.Root => {
  const root = new protobuf.Root()
  root.resolvePath = (_origin, target) => {
    if (target in protobuf.common) return target // protobufjs bundles most well-known types
    for (const dir of INCLUDE) {
      const candidate = join(dir, target)
      try {
        require.resolve(candidate)
        return candidate
      } catch {
        // not in this include directory
      }
    }
    return target
  }
  root.loadSync(files as Array<string>, { keepCase: false })
  root.resolveAll()
  return root
}

export const officialRoot: protobuf.Root = loadOfficial([
  "envoy/service/accesslog/v3/als.proto",
  "envoy/data/accesslog/v3/accesslog.proto",
  "envoy/service/metrics/v3/metrics_service.proto",
  "google/protobuf/wrappers.proto",
  "google/protobuf/struct.proto"
])

export const StreamAccessLogsMessage = officialRoot.lookupType("envoy.service.accesslog.v3.StreamAccessLogsMessage")

// ---- proto3 JSON mapping → protobufjs objects, for the well-known types protobufjs's fromObject does not map ----

const WRAPPERS = new Set([
  ".google.protobuf.UInt32Value",
  ".google.protobuf.Int32Value",
  ".google.protobuf.UInt64Value",
  ".google.protobuf.Int64Value",
  ".google.protobuf.BoolValue",
  ".google.protobuf.StringValue",
  ".google.protobuf.BytesValue",
  ".google.protobuf.DoubleValue",
  ".google.protobuf.FloatValue"
])

/** "1.5s" → { seconds, nanos } */
export const durationFromJson = (s: string): { seconds: number; nanos: number } => {
  const m = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(s)
  if (!m) throw new Error(`not a proto3 JSON Duration: ${s}`)
  const sign = m[1] === "-" ? -1 : 1
  return { seconds: sign * Number(m[2]), nanos: sign * Number((m[3] ?? "").padEnd(9, "0")) }
}

/** RFC 3339 with up to nanosecond precision → { seconds, nanos } */
export const timestampFromJson = (s: string): { seconds: number; nanos: number } => {
  const m = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s)
  if (!m) throw new Error(`not a proto3 JSON Timestamp: ${s}`)
  const ms = Date.parse(`${m[1]}${m[3]}`)
  if (Number.isNaN(ms)) throw new Error(`not a proto3 JSON Timestamp: ${s}`)
  return { seconds: Math.floor(ms / 1000), nanos: Number((m[2] ?? "").padEnd(9, "0")) }
}

export const valueFromJson = (v: unknown): Record<string, unknown> => {
  if (v === null) return { nullValue: 0 }
  if (typeof v === "number") return { numberValue: v }
  if (typeof v === "string") return { stringValue: v }
  if (typeof v === "boolean") return { boolValue: v }
  if (Array.isArray(v)) return { listValue: { values: v.map(valueFromJson) } }
  return { structValue: structFromJson(v as Record<string, unknown>) }
}

export const structFromJson = (o: Record<string, unknown>): Record<string, unknown> => ({
  fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, valueFromJson(v)]))
})

/** How one field's JSON value becomes protobufjs's object form (by the field's type, decided once). */
interface FieldConverter {
  readonly name: string
  readonly convert: (json: unknown) => unknown
}

const valueConverter = (field: protobuf.Field): ((v: unknown) => unknown) => {
  const rt = field.resolvedType
  if (!(rt instanceof protobuf.Type)) return (v) => v
  const name = rt.fullName
  if (name === ".google.protobuf.Timestamp") return (v) => (typeof v === "string" ? timestampFromJson(v) : v)
  if (name === ".google.protobuf.Duration") return (v) => (typeof v === "string" ? durationFromJson(v) : v)
  if (name === ".google.protobuf.Struct") return (v) => structFromJson(v as Record<string, unknown>)
  if (name === ".google.protobuf.Value") return valueFromJson
  if (WRAPPERS.has(name)) return (v) => (typeof v === "object" && v !== null ? v : { value: v })
  if (name === ".google.protobuf.Any") return (v) => convertAny(v as Record<string, unknown>)
  return (v) => convert(rt, v as Record<string, unknown>)
}

const fieldConverter = (field: protobuf.Field): FieldConverter => {
  field.resolve()
  const one = valueConverter(field)
  const convert = field.map
    ? (v: unknown) => Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, one(x)]))
    : field.repeated
      ? (v: unknown) => (v as Array<unknown>).map(one)
      : one
  return { name: field.name, convert }
}

/** JSON key (field name or json_name) → converter, per type: protobufjs's reflection is too slow per entry. */
const converters = new Map<protobuf.Type, Map<string, FieldConverter>>()
const converterFor = (type: protobuf.Type, key: string): FieldConverter => {
  let index = converters.get(type)
  if (index === undefined) {
    index = new Map()
    for (const field of type.fieldsArray) {
      const converter = fieldConverter(field)
      index.set(field.name, converter)
      if (field.options?.json_name) index.set(field.options.json_name, converter)
    }
    converters.set(type, index)
  }
  const converter = index.get(key)
  if (!converter) throw new Error(`${type.fullName} has no field ${key}`)
  return converter
}

/** Encoded Anys by the identity of their JSON object, so a shared peer value is encoded once (see istio-entries). */
const encodedAnys = new WeakMap<object, { type_url: string; value: Uint8Array }>()

const convertAny = (any: Record<string, unknown>): { type_url: string; value: Uint8Array } => {
  const cached = encodedAnys.get(any)
  if (cached) return cached
  const typeUrl = String(any["@type"])
  const inner = officialRoot.lookupType(typeUrl.slice(typeUrl.lastIndexOf("/") + 1))
  const payload =
    WRAPPERS.has(inner.fullName) || inner.fullName === ".google.protobuf.Struct" ? convertWellKnown(inner, any) : convert(inner, any)
  const encoded = { type_url: typeUrl, value: inner.encode(inner.fromObject(payload)).finish() }
  encodedAnys.set(any, encoded)
  return encoded
}

const convert = (type: protobuf.Type, json: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key in json) {
    const value = json[key]
    if (key === "@type" || value === undefined) continue // as JSON.stringify would drop it
    const converter = converterFor(type, key)
    out[converter.name] = converter.convert(value)
  }
  return out
}

/** In the JSON form of an Any holding a well-known type, the payload sits under "value". */
const convertWellKnown = (inner: protobuf.Type, any: Record<string, unknown>): Record<string, unknown> =>
  inner.fullName === ".google.protobuf.Struct" ? structFromJson(any.value as Record<string, unknown>) : { value: any.value }

/** Encodes a StreamAccessLogsMessage given in the proto3 JSON mapping (as Envoy would serialize it). */
export const encodeAlsMessageJson = (json: Record<string, unknown>): Uint8Array => {
  const obj = StreamAccessLogsMessage.fromObject(convert(StreamAccessLogsMessage, json))
  const err = StreamAccessLogsMessage.verify(obj)
  if (err) throw new Error(`invalid StreamAccessLogsMessage: ${err}`)
  return StreamAccessLogsMessage.encode(obj).finish()
}
