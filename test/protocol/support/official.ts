// The oracle for the compatibility tests: messages decoded by protobufjs with Envoy's official protos, mapped to
// meshsight's domain shapes by the rules src/domain/access-log.ts documents. The mapping reads the official
// reflection (enum names, ResponseFlags field numbers) rather than repeating the codec's tables.
import protobuf from "protobufjs"
import {
  type AccessLog,
  type AccessLogCommon,
  type Address,
  type AlsMessage,
  HEADER_VALUE_MAX_BYTES,
  type HttpVersion,
  type JsonValue
} from "../../../src/domain/access-log.ts"
import { officialRoot } from "../../../sim/envoy-protos.ts"
import type { Rng } from "./prng.ts"
import { concat, FIXED32, FIXED64, fixedField, lenField, varint, varintField } from "./wire.ts"

export { officialRoot }
export const officialType = (name: string): protobuf.Type => officialRoot.lookupType(name)
export const StreamAccessLogsMessage = officialType("envoy.service.accesslog.v3.StreamAccessLogsMessage")

/** protobufjs's decoded object form: dynamically shaped, walked by field name. */
export type Decoded = any

/** protobufjs's decoding of `bytes` as the official `type`, with `kind` naming each oneof's member. */
export const decodeOfficialAs = (type: protobuf.Type, bytes: Uint8Array): Decoded =>
  type.toObject(type.decode(bytes), { longs: Number, enums: Number, oneofs: true })

export const decodeOfficial = (bytes: Uint8Array): Decoded => decodeOfficialAs(StreamAccessLogsMessage, bytes)

const enumName = (enumType: string, n: number): string | undefined => officialRoot.lookupEnum(enumType).valuesById[n]

const HTTP_VERSION: Record<string, HttpVersion> = {
  PROTOCOL_UNSPECIFIED: "unspecified",
  HTTP10: "HTTP/1.0",
  HTTP11: "HTTP/1.1",
  HTTP2: "HTTP/2",
  HTTP3: "HTTP/3"
}

export const jsonOfValue = (v: Decoded): JsonValue => {
  switch (v.kind) {
    case "numberValue":
      return v.numberValue
    case "stringValue":
      return v.stringValue
    case "boolValue":
      return v.boolValue
    case "structValue":
      return jsonOfStruct(v.structValue)
    case "listValue":
      return (v.listValue.values ?? []).map(jsonOfValue)
    default:
      return null // null_value, or no kind set at all
  }
}

export const jsonOfStruct = (s: Decoded): { [k: string]: JsonValue } =>
  Object.fromEntries(Object.entries(s?.fields ?? {}).map(([k, v]) => [k, jsonOfValue(v)]))

/** `socket_address` (Address field 1) and `envoy_internal_address` (3) become Addresses; pipes are not peers. */
const address = (a: Decoded): Address | undefined => {
  const internal = a?.envoyInternalAddress
  if (internal !== undefined) {
    return { ip: "", port: 0, internal: `envoy://${internal.serverListenerName ?? ""}/${internal.endpointId ?? ""}` }
  }
  return a?.socketAddress === undefined ? undefined : { ip: a.socketAddress.address ?? "", port: a.socketAddress.portValue ?? 0 }
}

/** Exact nanoseconds of a Timestamp/Duration (`seconds` 1, `nanos` 2); a double holds them exactly below 2^53. */
export const exactNanos = (t: Decoded): bigint => BigInt(t.seconds ?? 0) * 1_000_000_000n + BigInt(t.nanos ?? 0)

const nanos = (d: Decoded): number | undefined => (d === undefined ? undefined : Number(exactNanos(d)))

/** CertificateProperties → [subject (2), the first non-empty `uri` (1) among subject_alt_name (1)]. */
const certificate = (c: Decoded): [string, string] => [
  c?.subject ?? "",
  (c?.subjectAltName ?? []).map((san: Decoded) => san.uri).find((uri: string | undefined) => uri) ?? ""
]

/** ResponseFlags field n set (true, or the `unauthorized_details` message present) → bit n − 1, for n ≤ 28. */
const responseFlags = (flags: Decoded): number => {
  let mask = 0
  for (const field of officialType("envoy.data.accesslog.v3.ResponseFlags").fieldsArray) {
    const v = flags?.[field.name]
    if (field.id <= 28 && (v === true || (typeof v === "object" && v !== null))) mask |= 1 << (field.id - 1)
  }
  return mask
}

const TIMINGS = [
  ["timeToLastRxByte", "timeToLastRxByteNs"],
  ["timeToFirstUpstreamTxByte", "timeToFirstUpstreamTxByteNs"],
  ["timeToLastUpstreamTxByte", "timeToLastUpstreamTxByteNs"],
  ["timeToFirstUpstreamRxByte", "timeToFirstUpstreamRxByteNs"],
  ["timeToLastUpstreamRxByte", "timeToLastUpstreamRxByteNs"],
  ["timeToFirstDownstreamTxByte", "timeToFirstDownstreamTxByteNs"],
  ["timeToLastDownstreamTxByte", "timeToLastDownstreamTxByteNs"]
] as const

const common = (c: Decoded = {}): AccessLogCommon => {
  const tls = c.tlsProperties
  const [localSubject, localUriSan] = certificate(tls?.localCertificateProperties)
  const [peerSubject, peerUriSan] = certificate(tls?.peerCertificateProperties)
  return {
    downstreamRemoteAddress: address(c.downstreamRemoteAddress),
    downstreamLocalAddress: address(c.downstreamLocalAddress),
    downstreamDirectRemoteAddress: address(c.downstreamDirectRemoteAddress),
    upstreamRemoteAddress: address(c.upstreamRemoteAddress),
    upstreamLocalAddress: address(c.upstreamLocalAddress),
    upstreamCluster: c.upstreamCluster ?? "",
    // Epoch milliseconds; compared within a microsecond (a double near 1.7e12 ms cannot hold nanoseconds).
    startTimeMs: c.startTime === undefined ? 0 : Number(exactNanos(c.startTime)) / 1e6,
    ...(Object.fromEntries(TIMINGS.map(([from, to]) => [to, nanos(c[from])])) as Pick<AccessLogCommon, (typeof TIMINGS)[number][1]>),
    responseFlags: responseFlags(c.responseFlags),
    tls: tls === undefined ? undefined : { localSubject, localUriSan, peerSubject, peerUriSan },
    filterState: Object.entries(c.filterStateObjects ?? {}).map(([key, any]: [string, Decoded]) => ({
      key,
      typeUrl: any.type_url ?? "",
      value: new Uint8Array(any.value ?? [])
    }))
  }
}

/** grpc-status counts only as a decimal code. */
const grpcStatus = (trailers: Decoded): number | undefined => {
  const v: string | undefined = trailers?.["grpc-status"]
  return v !== undefined && /^\d{1,10}$/.test(v) ? Number(v) : undefined
}

const HTTP_VERSION_ENUM = "envoy.data.accesslog.v3.HTTPAccessLogEntry.HTTPVersion"

const httpEntry = (e: Decoded): AccessLog => ({
  kind: "http",
  common: common(e.commonProperties),
  protocolVersion: HTTP_VERSION[enumName(HTTP_VERSION_ENUM, e.protocolVersion ?? 0) ?? ""] ?? "unspecified",
  method: enumName("envoy.config.core.v3.RequestMethod", e.request?.requestMethod ?? 0) ?? "METHOD_UNSPECIFIED",
  scheme: e.request?.scheme ?? "",
  authority: e.request?.authority ?? "",
  path: e.request?.path ?? "",
  hasRequest: e.request !== undefined,
  responseCode: e.response?.responseCode?.value ?? 0,
  responseCodeDetails: e.response?.responseCodeDetails ?? "",
  grpcStatus: grpcStatus(e.response?.responseTrailers),
  userAgent: cut(e.request?.userAgent),
  requestId: cut(e.request?.requestId),
  traceId: traceId(e.request?.requestHeaders ?? {}),
  requestBytes: (e.request?.requestHeadersBytes ?? 0) + (e.request?.requestBodyBytes ?? 0),
  responseBytes: (e.response?.responseHeadersBytes ?? 0) + (e.response?.responseBodyBytes ?? 0)
})

/** The first HEADER_VALUE_MAX_BYTES bytes of a header value, without a split character. */
const cut = (value: string | undefined): string => {
  const bytes = Buffer.from(value ?? "", "utf8")
  if (bytes.length <= HEADER_VALUE_MAX_BYTES) return value ?? ""
  return new TextDecoder("utf-8", { fatal: false, ignoreBOM: true })
    .decode(bytes.subarray(0, HEADER_VALUE_MAX_BYTES))
    .replace(/\uFFFD$/, "")
}

/** The trace id of the preferred trace header that yields one: traceparent, then x-b3-traceid, then sw8. */
const traceId = (headers: Record<string, string>): string => {
  const fromTraceparent = cut(headers.traceparent).split("-")[1] ?? ""
  if (fromTraceparent !== "") return fromTraceparent
  const b3 = cut(headers["x-b3-traceid"])
  if (b3 !== "") return b3
  const sw8 = Buffer.from(cut(headers.sw8).split("-")[1] ?? "", "base64").toString("utf8")
  return sw8.includes("\uFFFD") ? "" : sw8
}

const tcpEntry = (e: Decoded): AccessLog => ({
  kind: "tcp",
  common: common(e.commonProperties),
  receivedBytes: e.connectionProperties?.receivedBytes ?? 0,
  sentBytes: e.connectionProperties?.sentBytes ?? 0
})

/** What decodeAlsMessage must return for a message protobufjs decoded as `m`. */
export const expectedAlsMessage = (m: Decoded): AlsMessage => ({
  identifier:
    m.identifier === undefined
      ? undefined
      : {
          node: {
            id: m.identifier.node?.id ?? "",
            cluster: m.identifier.node?.cluster ?? "",
            metadata: jsonOfStruct(m.identifier.node?.metadata)
          },
          logName: m.identifier.logName ?? ""
        },
  entries: [...(m.httpLogs?.logEntry ?? []).map(httpEntry), ...(m.tcpLogs?.logEntry ?? []).map(tcpEntry)],
  rejected: []
})

// ---- Encoding with noise: fields the official protos don't define, at every level of nesting ----

/** A field number the type does not define: just past its highest, or the largest legal one (2^29 − 1). */
const unknownNumber = (type: protobuf.Type, rng: Rng): number =>
  rng.chance(0.2) ? 536_870_911 : Math.max(0, ...type.fieldsArray.map((f) => f.id)) + rng.int(1, 30)

/** One unknown field of each wire type proto3 uses, incl. packed and unpacked repeated varints. */
const unknownField = (type: protobuf.Type, rng: Rng): Uint8Array => {
  const n = unknownNumber(type, rng)
  switch (rng.int(0, 5)) {
    case 0: // a 10-byte varint (a negative int64)
      return varintField(n, rng.chance(0.5) ? 2n ** 64n - BigInt(rng.int(1, 1000)) : rng.int(0, 2 ** 31))
    case 1:
      return fixedField(n, FIXED64, rng.bytes(8))
    case 2:
      return fixedField(n, FIXED32, rng.bytes(4))
    case 3: // packed repeated varints: one length-delimited run
      return lenField(n, concat(...Array.from({ length: rng.int(0, 5) }, () => varint(rng.int(0, 2 ** 40)))))
    case 4: // unpacked repeated: the same number again and again
      return concat(...Array.from({ length: rng.int(2, 4) }, () => varintField(n, rng.int(0, 300))))
    default:
      return lenField(n, rng.bytes(rng.int(0, 24)))
  }
}

/**
 * Encodes `obj` with the official `type`, each message-typed field encoded on its own (recursively) so unknown
 * fields can go in between at every level. Field order on the wire is free; repeated elements keep theirs.
 */
export const encodeNoisy = (type: protobuf.Type, obj: Record<string, unknown>, rng: Rng): Uint8Array => {
  const plain: Record<string, unknown> = {}
  const parts: Array<Uint8Array> = []
  for (const [name, value] of Object.entries(obj)) {
    const field = type.fields[name]
    if (field === undefined) throw new Error(`${type.fullName} has no field ${name}`)
    const child = field.resolve().resolvedType
    if (value != null && child instanceof protobuf.Type && !field.map) {
      for (const v of field.repeated ? (value as Array<Record<string, unknown>>) : [value as Record<string, unknown>]) {
        parts.push(lenField(field.id, encodeNoisy(child, v, rng)))
      }
    } else plain[name] = value
  }
  parts.push(type.encode(type.fromObject(plain)).finish())
  for (let k = rng.int(0, 2); k > 0; k--) parts.splice(rng.int(0, parts.length), 0, unknownField(type, rng))
  return concat(...parts)
}

/** A field the v2 Node has (build_version 5, a string) and the v3 Node reserves: what a v2 Envoy adds on the wire. */
export const V2_NODE_BUILD_VERSION = 5
