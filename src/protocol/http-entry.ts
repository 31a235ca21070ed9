// HTTPAccessLogEntry with its HTTPRequestProperties and HTTPResponseProperties
// (proto/envoy/data/accesslog/v3/accesslog.proto): method, path, codes, byte counts, gRPC status, trace id.
import { type AccessLogCommon, type HttpAccessLog, type HttpVersion, HEADER_VALUE_MAX_BYTES } from "../domain/access-log.ts"
import { emptyCommon, MapEntryField, readCommon } from "./common-properties.ts"
import { Reads } from "./field-choice.ts"
import { readUInt32Value } from "./well-known.ts"
import { expectWireType, type WireReader, WireType } from "../util/wire-reader.ts"

const { Varint, Bytes } = WireType

const HttpEntryField = { commonProperties: 1, protocolVersion: 2, request: 3, response: 4 } as const
const HttpRequestField = {
  requestMethod: 1,
  scheme: 2,
  authority: 3,
  path: 5,
  userAgent: 6,
  requestId: 9,
  requestHeadersBytes: 11,
  requestBodyBytes: 12,
  requestHeaders: 13
} as const
const HttpResponseField = {
  responseCode: 1,
  responseHeadersBytes: 2,
  responseBodyBytes: 3,
  responseTrailers: 5,
  responseCodeDetails: 6
} as const

const HTTP_VERSIONS: ReadonlyArray<HttpVersion> = ["unspecified", "HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/3"]
/** envoy.config.core.v3.RequestMethod. */
const METHODS: ReadonlyArray<string> = [
  "METHOD_UNSPECIFIED",
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH"
]

const GRPC_STATUS = /^\d{1,10}$/

/**
 * HTTPAccessLogEntry: its common properties, protocol version, request and response. The groups of fields that
 * `reads` (Reads flags) leaves out are skipped and left "" or undefined (see alsDecoder): a request id is a new
 * string per entry, and the log-detail fields cost ~20 % of decoding, the addresses ~20 % of the rest
 * (docs/performance.md, rounds twelve and thirteen).
 */
export const readHttpEntry = (r: WireReader, reads: number): HttpAccessLog => {
  const logDetail = (reads & Reads.logDetail) !== 0
  let common: AccessLogCommon | undefined
  let protocolVersion: HttpVersion = "unspecified"
  let method = "METHOD_UNSPECIFIED"
  let scheme = ""
  let authority = ""
  let path = ""
  let hasRequest = false
  let responseCode = 0
  let responseCodeDetails = ""
  let grpcStatus: number | undefined
  let userAgent = ""
  let requestId = ""
  let trace: TraceHeader = NO_TRACE
  let requestBytes = 0
  let responseBytes = 0
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    switch (tag >>> 3) {
      case HttpEntryField.commonProperties:
        expectWireType(wt, Bytes, "HTTPAccessLogEntry.common_properties")
        common = readCommon(r.sub(), reads)
        break
      case HttpEntryField.protocolVersion: {
        expectWireType(wt, Varint, "HTTPAccessLogEntry.protocol_version")
        const v = r.varint()
        protocolVersion = HTTP_VERSIONS[v] ?? "unspecified"
        break
      }
      case HttpEntryField.request: {
        expectWireType(wt, Bytes, "HTTPAccessLogEntry.request")
        hasRequest = true
        const q = r.sub()
        while (q.pos < q.end) {
          const t = q.varint()
          const w = t & 7
          switch (t >>> 3) {
            case HttpRequestField.requestMethod: {
              expectWireType(w, Varint, "HTTPRequestProperties.request_method")
              const m = q.varint()
              method = METHODS[m] ?? "METHOD_UNSPECIFIED"
              break
            }
            case HttpRequestField.scheme:
              expectWireType(w, Bytes, "HTTPRequestProperties.scheme")
              if (logDetail) scheme = q.string()
              else q.skip(w)
              break
            case HttpRequestField.authority:
              expectWireType(w, Bytes, "HTTPRequestProperties.authority")
              authority = q.string()
              break
            case HttpRequestField.path:
              expectWireType(w, Bytes, "HTTPRequestProperties.path")
              path = q.string()
              break
            case HttpRequestField.userAgent:
              expectWireType(w, Bytes, "HTTPRequestProperties.user_agent")
              if (logDetail) userAgent = q.repeatingBoundedString(HEADER_VALUE_MAX_BYTES)
              else q.skip(w)
              break
            case HttpRequestField.requestId:
              expectWireType(w, Bytes, "HTTPRequestProperties.request_id")
              if (logDetail) requestId = q.boundedString(HEADER_VALUE_MAX_BYTES)
              else q.skip(w)
              break
            case HttpRequestField.requestHeadersBytes:
            case HttpRequestField.requestBodyBytes:
              expectWireType(
                w,
                Varint,
                t >>> 3 === HttpRequestField.requestHeadersBytes
                  ? "HTTPRequestProperties.request_headers_bytes"
                  : "HTTPRequestProperties.request_body_bytes"
              )
              requestBytes += q.varint()
              break
            case HttpRequestField.requestHeaders:
              expectWireType(w, Bytes, "HTTPRequestProperties.request_headers")
              if (logDetail) trace = readTraceHeader(q.sub(), trace)
              else q.skip(w)
              break
            default:
              q.skip(w)
          }
        }
        break
      }
      case HttpEntryField.response: {
        expectWireType(wt, Bytes, "HTTPAccessLogEntry.response")
        // HTTPResponseProperties; response_code is a google.protobuf.UInt32Value, not a plain uint32.
        const s = r.sub()
        while (s.pos < s.end) {
          const t = s.varint()
          const w = t & 7
          switch (t >>> 3) {
            case HttpResponseField.responseCode:
              expectWireType(w, Bytes, "HTTPResponseProperties.response_code")
              responseCode = readUInt32Value(s.sub())
              break
            case HttpResponseField.responseHeadersBytes:
            case HttpResponseField.responseBodyBytes:
              expectWireType(
                w,
                Varint,
                t >>> 3 === HttpResponseField.responseHeadersBytes
                  ? "HTTPResponseProperties.response_headers_bytes"
                  : "HTTPResponseProperties.response_body_bytes"
              )
              responseBytes += s.varint()
              break
            case HttpResponseField.responseTrailers: {
              expectWireType(w, Bytes, "HTTPResponseProperties.response_trailers")
              const [k, v] = readTrailer(s.sub())
              // Only a decimal code counts: Number("") and Number(" ") are 0, which would read as OK.
              if (k === "grpc-status" && GRPC_STATUS.test(v)) grpcStatus = Number(v)
              break
            }
            case HttpResponseField.responseCodeDetails:
              expectWireType(w, Bytes, "HTTPResponseProperties.response_code_details")
              if (logDetail) responseCodeDetails = s.string()
              else s.skip(w)
              break
            default:
              s.skip(w)
          }
        }
        break
      }
      default:
        r.skip(wt)
    }
  }
  return {
    kind: "http",
    common: common ?? emptyCommon(),
    protocolVersion,
    method,
    scheme,
    authority,
    path,
    hasRequest,
    responseCode,
    responseCodeDetails,
    grpcStatus,
    userAgent,
    requestId,
    traceId: trace.traceId,
    requestBytes,
    responseBytes
  }
}

/** The trace header kept so far: `rank` orders traceparent (0) before x-b3-traceid (1) before sw8 (2). */
interface TraceHeader {
  readonly rank: number
  readonly traceId: string
}
const NO_TRACE: TraceHeader = { rank: 3, traceId: "" }
/** A Map: the header names come off the wire, and an object would answer "constructor" from its prototype. */
const TRACE_HEADERS: ReadonlyMap<string, number> = new Map([
  ["traceparent", 0],
  ["x-b3-traceid", 1],
  ["sw8", 2]
])

/**
 * An entry of `request_headers` (`map<string, string>`); only trace headers' values are decoded.
 * W3C `traceparent` is `VERSION-TRACEID-PARENTID-FLAGS`; SkyWalking's `sw8` is `SAMPLE-base64(TRACEID)-…`.
 */
const readTraceHeader = (r: WireReader, kept: TraceHeader): TraceHeader => {
  let rank = NO_TRACE.rank
  let value = ""
  while (r.pos < r.end) {
    const tag = r.varint()
    const f = tag >>> 3
    if (f === MapEntryField.key) {
      expectWireType(tag & 7, Bytes, "HTTPRequestProperties.request_headers entry")
      rank = TRACE_HEADERS.get(r.string()) ?? NO_TRACE.rank
    } else if (f === MapEntryField.value) {
      expectWireType(tag & 7, Bytes, "HTTPRequestProperties.request_headers entry")
      // The key comes first on the wire (map entries are written key, value), so other headers' values are skipped.
      if (rank < kept.rank) value = r.boundedString(HEADER_VALUE_MAX_BYTES)
      else r.skip(tag & 7)
    } else r.skip(tag & 7)
  }
  const traceId = rank < kept.rank ? traceIdOf(rank, value) : ""
  return traceId === "" ? kept : { rank, traceId }
}

const traceIdOf = (rank: number, value: string): string => {
  if (rank === 1) return value
  const part = value.split("-")[1] ?? ""
  if (rank === 0) return part
  const decoded = Buffer.from(part, "base64").toString("utf8")
  return decoded.includes("\uFFFD") ? "" : decoded
}

/** An entry of `HTTPResponseProperties.response_trailers` (`map<string, string>`). */
const readTrailer = (r: WireReader): [string, string] => {
  let key = ""
  let value = ""
  while (r.pos < r.end) {
    const tag = r.varint()
    const f = tag >>> 3
    if (f === MapEntryField.key || f === MapEntryField.value) {
      expectWireType(tag & 7, Bytes, "HTTPResponseProperties.response_trailers entry")
      if (f === MapEntryField.key) key = r.string()
      else value = r.string()
    } else r.skip(tag & 7)
  }
  return [key, value]
}
