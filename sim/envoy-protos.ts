// Envoy's official protos (npm @grpc/grpc-js-xds, deps/), loaded with protobufjs, to build messages exactly as
// Envoy encodes them: used by the traffic simulator, the benchmarks and the tests. Not part of the service.
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import protobuf from "protobufjs"

const require = createRequire(import.meta.url)
const deps = join(dirname(require.resolve("@grpc/grpc-js-xds/package.json")), "deps")
const INCLUDE = [
  ...["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => join(deps, d)),
  dirname(require.resolve("protobufjs/package.json")) // google/protobuf/descriptor.proto
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
  "google/protobuf/wrappers.proto",
  "google/protobuf/struct.proto"
])

export const StreamAccessLogsMessage = officialRoot.lookupType("envoy.service.accesslog.v3.StreamAccessLogsMessage")

// ---- proto3 JSON mapping → protobufjs objects, for the well-known types protobufjs's fromObject does not map ----

const WRAPPERS = new Set([
  ".google.protobuf.UInt32Value", ".google.protobuf.Int32Value", ".google.protobuf.UInt64Value",
  ".google.protobuf.Int64Value", ".google.protobuf.BoolValue", ".google.protobuf.StringValue",
  ".google.protobuf.BytesValue", ".google.protobuf.DoubleValue", ".google.protobuf.FloatValue"
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

const convert = (type: protobuf.Type, json: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(json)) {
    if (key === "@type" || value === undefined) continue // as JSON.stringify would drop it
    const field = type.fields[key] ?? Object.values(type.fields).find((f) => f.name === key || f.options?.json_name === key)
    if (!field) throw new Error(`${type.fullName} has no field ${key}`)
    field.resolve()
    const convertOne = (v: unknown): unknown => {
      const rt = field.resolvedType
      if (!(rt instanceof protobuf.Type)) return v
      const name = rt.fullName
      if (name === ".google.protobuf.Timestamp") return typeof v === "string" ? timestampFromJson(v) : v
      if (name === ".google.protobuf.Duration") return typeof v === "string" ? durationFromJson(v) : v
      if (name === ".google.protobuf.Struct") return structFromJson(v as Record<string, unknown>)
      if (name === ".google.protobuf.Value") return valueFromJson(v)
      if (WRAPPERS.has(name)) return typeof v === "object" && v !== null ? v : { value: v }
      if (name === ".google.protobuf.Any") {
        const any = v as Record<string, unknown>
        const typeUrl = String(any["@type"])
        const inner = officialRoot.lookupType(typeUrl.slice(typeUrl.lastIndexOf("/") + 1))
        const payload = WRAPPERS.has(`.${inner.fullName.replace(/^\./, "")}`) || inner.fullName === ".google.protobuf.Struct"
          ? convertWellKnown(inner, any)
          : convert(inner, any)
        return { type_url: typeUrl, value: inner.encode(inner.fromObject(payload)).finish() }
      }
      return convert(rt, v as Record<string, unknown>)
    }
    if (field.map) {
      out[field.name] = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, convertOne(v)]))
    } else if (field.repeated) {
      out[field.name] = (value as Array<unknown>).map(convertOne)
    } else {
      out[field.name] = convertOne(value)
    }
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
