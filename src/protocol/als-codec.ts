// StreamAccessLogsMessage (envoy.service.accesslog.v2 and v3 share every field number meshsight reads) → AlsMessage.
// Field numbers follow proto/envoy/service/accesslog/v3/als.proto and the files it imports.
import {
  type AccessLog,
  type AccessLogCommon,
  type Address,
  type AlsMessage,
  type EntryRejection,
  type FilterStateObject,
  type HttpAccessLog,
  type HttpVersion,
  type Identifier,
  type JsonObject,
  type TcpAccessLog,
  HEADER_VALUE_MAX_BYTES,
  type TlsInfo
} from "../domain/access-log.ts"
import { readStruct } from "./struct-codec.ts"
import { expectWireType, WireError, WireReader, WireType } from "../util/wire-reader.ts"

const { Varint, Bytes } = WireType

/** Decodes one ALS message. Throws WireError when the envelope itself is malformed; bad entries are rejected one by one. */
export const decodeAlsMessage = (bytes: Uint8Array): AlsMessage => {
  const r = new WireReader(bytes)
  let identifier: Identifier | undefined
  const entries: Array<AccessLog> = []
  const rejected: Array<EntryRejection> = []
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    switch (tag >>> 3) {
      case 1:
        expectWireType(wt, Bytes, "StreamAccessLogsMessage.identifier")
        identifier = readIdentifier(r.sub())
        break
      case 2:
        expectWireType(wt, Bytes, "StreamAccessLogsMessage.http_logs")
        readEntries(r.sub(), readHttpEntry, entries, rejected)
        break
      case 3:
        expectWireType(wt, Bytes, "StreamAccessLogsMessage.tcp_logs")
        readEntries(r.sub(), readTcpEntry, entries, rejected)
        break
      default:
        r.skip(wt)
    }
  }
  return { identifier, entries, rejected }
}

/** `HTTPAccessLogEntries` / `TCPAccessLogEntries`: `repeated … log_entry = 1`. */
const readEntries = (
  r: WireReader,
  readEntry: (r: WireReader) => AccessLog,
  out: Array<AccessLog>,
  rejected: Array<EntryRejection>
): void => {
  let index = 0
  while (r.pos < r.end) {
    const tag = r.varint()
    if (tag >>> 3 !== 1) {
      r.skip(tag & 7)
      continue
    }
    expectWireType(tag & 7, Bytes, "log_entry")
    // The entry's own length is checked against the envelope here; a failure inside it only rejects the entry.
    const entry = r.sub()
    try {
      out.push(readEntry(entry))
    } catch (e) {
      if (!(e instanceof WireError)) throw e
      rejected.push({ index, reason: e.message })
    }
    index++
  }
}

const readIdentifier = (r: WireReader): Identifier => {
  let node = { id: "", cluster: "", metadata: {} as JsonObject }
  let logName = ""
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    switch (tag >>> 3) {
      case 1:
        expectWireType(wt, Bytes, "Identifier.node")
        node = readNode(r.sub())
        break
      case 2:
        expectWireType(wt, Bytes, "Identifier.log_name")
        logName = r.string()
        break
      default:
        r.skip(wt)
    }
  }
  return { node, logName }
}

/** envoy.config.core.v3.Node: id 1, cluster 2, metadata 3 (Struct). Also read by the MetricsService codec. */
export const readNode = (r: WireReader): Identifier["node"] => {
  let id = ""
  let cluster = ""
  let metadata: JsonObject = {}
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    switch (tag >>> 3) {
      case 1:
        expectWireType(wt, Bytes, "Node.id")
        id = r.string()
        break
      case 2:
        expectWireType(wt, Bytes, "Node.cluster")
        cluster = r.string()
        break
      case 3:
        expectWireType(wt, Bytes, "Node.metadata")
        metadata = readStruct(r.sub())
        break
      default:
        r.skip(wt)
    }
  }
  return { id, cluster, metadata }
}

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

/** HTTPAccessLogEntry: common_properties 1, protocol_version 2, request 3, response 4. */
const readHttpEntry = (r: WireReader): HttpAccessLog => {
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
      case 1:
        expectWireType(wt, Bytes, "HTTPAccessLogEntry.common_properties")
        common = readCommon(r.sub())
        break
      case 2: {
        expectWireType(wt, Varint, "HTTPAccessLogEntry.protocol_version")
        const v = r.varint()
        protocolVersion = HTTP_VERSIONS[v] ?? "unspecified"
        break
      }
      case 3: {
        expectWireType(wt, Bytes, "HTTPAccessLogEntry.request")
        hasRequest = true
        // HTTPRequestProperties: request_method 1, scheme 2, authority 3, path 5, user_agent 6, request_id 9,
        // request_headers_bytes 11, request_body_bytes 12, request_headers 13.
        const q = r.sub()
        while (q.pos < q.end) {
          const t = q.varint()
          const w = t & 7
          switch (t >>> 3) {
            case 1: {
              expectWireType(w, Varint, "HTTPRequestProperties.request_method")
              const m = q.varint()
              method = METHODS[m] ?? "METHOD_UNSPECIFIED"
              break
            }
            case 2:
              expectWireType(w, Bytes, "HTTPRequestProperties.scheme")
              scheme = q.string()
              break
            case 3:
              expectWireType(w, Bytes, "HTTPRequestProperties.authority")
              authority = q.string()
              break
            case 5:
              expectWireType(w, Bytes, "HTTPRequestProperties.path")
              path = q.string()
              break
            case 6:
              expectWireType(w, Bytes, "HTTPRequestProperties.user_agent")
              userAgent = q.boundedString(HEADER_VALUE_MAX_BYTES)
              break
            case 9:
              expectWireType(w, Bytes, "HTTPRequestProperties.request_id")
              requestId = q.boundedString(HEADER_VALUE_MAX_BYTES)
              break
            case 11:
            case 12:
              expectWireType(
                w,
                Varint,
                t >>> 3 === 11 ? "HTTPRequestProperties.request_headers_bytes" : "HTTPRequestProperties.request_body_bytes"
              )
              requestBytes += q.varint()
              break
            case 13:
              expectWireType(w, Bytes, "HTTPRequestProperties.request_headers")
              trace = readTraceHeader(q.sub(), trace)
              break
            default:
              q.skip(w)
          }
        }
        break
      }
      case 4: {
        expectWireType(wt, Bytes, "HTTPAccessLogEntry.response")
        // HTTPResponseProperties: response_code 1 (UInt32Value), response_headers_bytes 2, response_body_bytes 3,
        // response_trailers 5, response_code_details 6.
        const s = r.sub()
        while (s.pos < s.end) {
          const t = s.varint()
          const w = t & 7
          switch (t >>> 3) {
            case 1:
              expectWireType(w, Bytes, "HTTPResponseProperties.response_code")
              responseCode = readUInt32Value(s.sub())
              break
            case 2:
            case 3:
              expectWireType(
                w,
                Varint,
                t >>> 3 === 2 ? "HTTPResponseProperties.response_headers_bytes" : "HTTPResponseProperties.response_body_bytes"
              )
              responseBytes += s.varint()
              break
            case 5: {
              expectWireType(w, Bytes, "HTTPResponseProperties.response_trailers")
              const [k, v] = readTrailer(s.sub())
              // Only a decimal code counts: Number("") and Number(" ") are 0, which would read as OK.
              if (k === "grpc-status" && GRPC_STATUS.test(v)) grpcStatus = Number(v)
              break
            }
            case 6:
              expectWireType(w, Bytes, "HTTPResponseProperties.response_code_details")
              responseCodeDetails = s.string()
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
const TRACE_HEADERS: Readonly<Record<string, number>> = { traceparent: 0, "x-b3-traceid": 1, sw8: 2 }

/**
 * An entry of `request_headers` (`map<string, string>`: key 1, value 2); only trace headers' values are decoded.
 * W3C `traceparent` is `VERSION-TRACEID-PARENTID-FLAGS`; SkyWalking's `sw8` is `SAMPLE-base64(TRACEID)-…`.
 */
const readTraceHeader = (r: WireReader, kept: TraceHeader): TraceHeader => {
  let rank = NO_TRACE.rank
  let value = ""
  while (r.pos < r.end) {
    const tag = r.varint()
    const f = tag >>> 3
    if (f === 1) {
      expectWireType(tag & 7, Bytes, "HTTPRequestProperties.request_headers entry")
      rank = TRACE_HEADERS[r.string()] ?? NO_TRACE.rank
    } else if (f === 2) {
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

/** TCPAccessLogEntry: common_properties 1, connection_properties 2 (received_bytes 1, sent_bytes 2). */
const readTcpEntry = (r: WireReader): TcpAccessLog => {
  let common: AccessLogCommon | undefined
  let receivedBytes = 0
  let sentBytes = 0
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    switch (tag >>> 3) {
      case 1:
        expectWireType(wt, Bytes, "TCPAccessLogEntry.common_properties")
        common = readCommon(r.sub())
        break
      case 2: {
        expectWireType(wt, Bytes, "TCPAccessLogEntry.connection_properties")
        const c = r.sub()
        while (c.pos < c.end) {
          const t = c.varint()
          const f = t >>> 3
          if (f === 1 || f === 2) {
            expectWireType(t & 7, Varint, f === 1 ? "ConnectionProperties.received_bytes" : "ConnectionProperties.sent_bytes")
            if (f === 1) receivedBytes = c.varint()
            else sentBytes = c.varint()
          } else c.skip(t & 7)
        }
        break
      }
      default:
        r.skip(wt)
    }
  }
  return { kind: "tcp", common: common ?? emptyCommon(), receivedBytes, sentBytes }
}

const emptyCommon = (): AccessLogCommon => readCommon(new WireReader(new Uint8Array(0)))

/** AccessLogCommon, the fields listed in proto/envoy/data/accesslog/v3/accesslog.proto. */
const readCommon = (r: WireReader): AccessLogCommon => {
  let downstreamRemoteAddress: Address | undefined
  let downstreamLocalAddress: Address | undefined
  let downstreamDirectRemoteAddress: Address | undefined
  let upstreamRemoteAddress: Address | undefined
  let upstreamLocalAddress: Address | undefined
  let upstreamCluster = ""
  let startTimeMs = 0
  let timeToLastRxByteNs: number | undefined
  let timeToFirstUpstreamTxByteNs: number | undefined
  let timeToLastUpstreamTxByteNs: number | undefined
  let timeToFirstUpstreamRxByteNs: number | undefined
  let timeToLastUpstreamRxByteNs: number | undefined
  let timeToFirstDownstreamTxByteNs: number | undefined
  let timeToLastDownstreamTxByteNs: number | undefined
  let responseFlags = 0
  let tls: TlsInfo | undefined
  let filterState: Array<FilterStateObject> | undefined
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    const field = tag >>> 3
    switch (field) {
      case 2:
        expectWireType(wt, Bytes, "AccessLogCommon.downstream_remote_address")
        downstreamRemoteAddress = readAddress(r.sub())
        break
      case 3:
        expectWireType(wt, Bytes, "AccessLogCommon.downstream_local_address")
        downstreamLocalAddress = readAddress(r.sub())
        break
      case 4:
        expectWireType(wt, Bytes, "AccessLogCommon.tls_properties")
        tls = readTls(r.sub())
        break
      case 5: {
        expectWireType(wt, Bytes, "AccessLogCommon.start_time")
        startTimeMs = readSecondsNanos(r.sub(), "start_time") / 1e6
        break
      }
      case 6:
        expectWireType(wt, Bytes, "AccessLogCommon.time_to_last_rx_byte")
        timeToLastRxByteNs = readSecondsNanos(r.sub(), "time_to_last_rx_byte")
        break
      case 7:
        expectWireType(wt, Bytes, "AccessLogCommon.time_to_first_upstream_tx_byte")
        timeToFirstUpstreamTxByteNs = readSecondsNanos(r.sub(), "time_to_first_upstream_tx_byte")
        break
      case 8:
        expectWireType(wt, Bytes, "AccessLogCommon.time_to_last_upstream_tx_byte")
        timeToLastUpstreamTxByteNs = readSecondsNanos(r.sub(), "time_to_last_upstream_tx_byte")
        break
      case 9:
        expectWireType(wt, Bytes, "AccessLogCommon.time_to_first_upstream_rx_byte")
        timeToFirstUpstreamRxByteNs = readSecondsNanos(r.sub(), "time_to_first_upstream_rx_byte")
        break
      case 10:
        expectWireType(wt, Bytes, "AccessLogCommon.time_to_last_upstream_rx_byte")
        timeToLastUpstreamRxByteNs = readSecondsNanos(r.sub(), "time_to_last_upstream_rx_byte")
        break
      case 11:
        expectWireType(wt, Bytes, "AccessLogCommon.time_to_first_downstream_tx_byte")
        timeToFirstDownstreamTxByteNs = readSecondsNanos(r.sub(), "time_to_first_downstream_tx_byte")
        break
      case 12:
        expectWireType(wt, Bytes, "AccessLogCommon.time_to_last_downstream_tx_byte")
        timeToLastDownstreamTxByteNs = readSecondsNanos(r.sub(), "time_to_last_downstream_tx_byte")
        break
      case 13:
        expectWireType(wt, Bytes, "AccessLogCommon.upstream_remote_address")
        upstreamRemoteAddress = readAddress(r.sub())
        break
      case 14:
        expectWireType(wt, Bytes, "AccessLogCommon.upstream_local_address")
        upstreamLocalAddress = readAddress(r.sub())
        break
      case 15:
        expectWireType(wt, Bytes, "AccessLogCommon.upstream_cluster")
        upstreamCluster = r.string()
        break
      case 16:
        expectWireType(wt, Bytes, "AccessLogCommon.response_flags")
        responseFlags = readResponseFlags(r.sub())
        break
      case 20:
        expectWireType(wt, Bytes, "AccessLogCommon.downstream_direct_remote_address")
        downstreamDirectRemoteAddress = readAddress(r.sub())
        break
      case 21:
        expectWireType(wt, Bytes, "AccessLogCommon.filter_state_objects")
        ;(filterState ??= []).push(readFilterStateEntry(r.sub()))
        break
      default:
        r.skip(wt)
    }
  }
  return {
    downstreamRemoteAddress,
    downstreamLocalAddress,
    downstreamDirectRemoteAddress,
    upstreamRemoteAddress,
    upstreamLocalAddress,
    upstreamCluster,
    startTimeMs,
    timeToLastRxByteNs,
    timeToFirstUpstreamTxByteNs,
    timeToLastUpstreamTxByteNs,
    timeToFirstUpstreamRxByteNs,
    timeToLastUpstreamRxByteNs,
    timeToFirstDownstreamTxByteNs,
    timeToLastDownstreamTxByteNs,
    responseFlags,
    tls,
    filterState: filterState ?? NO_FILTER_STATE
  }
}

const NO_FILTER_STATE: ReadonlyArray<FilterStateObject> = []

/**
 * Address: oneof socket_address 1 (SocketAddress: address 2, port_value 3) or envoy_internal_address 3
 * (EnvoyInternalAddress: server_listener_name 1, endpoint_id 2); pipes are skipped.
 */
const readAddress = (r: WireReader): Address | undefined => {
  let result: Address | undefined
  while (r.pos < r.end) {
    const tag = r.varint()
    const field = tag >>> 3
    if (field === 3) {
      expectWireType(tag & 7, Bytes, "Address.envoy_internal_address")
      result = readInternalAddress(r.sub())
      continue
    }
    if (field !== 1) {
      r.skip(tag & 7)
      continue
    }
    expectWireType(tag & 7, Bytes, "Address.socket_address")
    const s = r.sub()
    let ip = ""
    let port = 0
    while (s.pos < s.end) {
      const t = s.varint()
      const f = t >>> 3
      if (f === 2) {
        expectWireType(t & 7, Bytes, "SocketAddress.address")
        ip = s.string()
      } else if (f === 3) {
        expectWireType(t & 7, Varint, "SocketAddress.port_value")
        port = s.varint()
      } else s.skip(t & 7)
    }
    result = { ip, port }
  }
  return result
}

/** As Envoy prints one (`EnvoyInternalInstance`): `envoy://SERVER_LISTENER_NAME/ENDPOINT_ID`. */
const readInternalAddress = (r: WireReader): Address => {
  let listener = ""
  let endpoint = ""
  while (r.pos < r.end) {
    const t = r.varint()
    const f = t >>> 3
    if (f === 1) {
      expectWireType(t & 7, Bytes, "EnvoyInternalAddress.server_listener_name")
      listener = r.string()
    } else if (f === 2) {
      expectWireType(t & 7, Bytes, "EnvoyInternalAddress.endpoint_id")
      endpoint = r.string()
    } else r.skip(t & 7)
  }
  return { ip: "", port: 0, internal: ["envoy://", listener, "/", endpoint].join("") }
}

/** google.protobuf.Timestamp / Duration (seconds 1, nanos 2) → nanoseconds. */
const readSecondsNanos = (r: WireReader, field: string): number => {
  let seconds = 0
  let nanos = 0
  while (r.pos < r.end) {
    const tag = r.varint()
    const f = tag >>> 3
    // The field's name is passed in parts: eight durations per entry made building it a hot allocation.
    if (f === 1) {
      expectWireType(tag & 7, Varint, field, ".seconds")
      seconds = r.int64()
    } else if (f === 2) {
      expectWireType(tag & 7, Varint, field, ".nanos")
      nanos = r.int32()
    } else r.skip(tag & 7)
  }
  return seconds * 1e9 + nanos
}

const readUInt32Value = (r: WireReader): number => {
  let value = 0
  while (r.pos < r.end) {
    const tag = r.varint()
    if (tag >>> 3 === 1) {
      expectWireType(tag & 7, Varint, "UInt32Value.value")
      value = r.varint()
    } else r.skip(tag & 7)
  }
  return value
}

/** An entry of `HTTPResponseProperties.response_trailers` (`map<string, string>`: key 1, value 2). */
const readTrailer = (r: WireReader): [string, string] => {
  let key = ""
  let value = ""
  while (r.pos < r.end) {
    const tag = r.varint()
    const f = tag >>> 3
    if (f === 1 || f === 2) {
      expectWireType(tag & 7, Bytes, "HTTPResponseProperties.response_trailers entry")
      if (f === 1) key = r.string()
      else value = r.string()
    } else r.skip(tag & 7)
  }
  return [key, value]
}

/** ResponseFlags: 28 fields, each a bool except 13 (`unauthorized_details`, a message): set bit (field − 1). */
const readResponseFlags = (r: WireReader): number => {
  let mask = 0
  while (r.pos < r.end) {
    const tag = r.varint()
    const f = tag >>> 3
    const wt = tag & 7
    if (f === 13) {
      expectWireType(wt, Bytes, "ResponseFlags.unauthorized_details")
      r.skip(wt)
      mask |= 1 << 12
    } else if (f >= 1 && f <= 28) {
      expectWireType(wt, Varint, "ResponseFlags")
      if (r.varint() !== 0) mask |= 1 << (f - 1)
    } else r.skip(wt)
  }
  return mask
}

/** TLSProperties: local_certificate_properties 4, peer_certificate_properties 5. */
const readTls = (r: WireReader): TlsInfo => {
  let local: [string, string] = ["", ""]
  let peer: [string, string] = ["", ""]
  while (r.pos < r.end) {
    const tag = r.varint()
    const f = tag >>> 3
    if (f === 4 || f === 5) {
      expectWireType(tag & 7, Bytes, "TLSProperties.certificate_properties")
      const cert = readCertificate(r.sub())
      if (f === 4) local = cert
      else peer = cert
    } else r.skip(tag & 7)
  }
  return { localSubject: local[0], localUriSan: local[1], peerSubject: peer[0], peerUriSan: peer[1] }
}

/** CertificateProperties: subject_alt_name 1 (SubjectAltName: uri 1, dns 2), subject 2 → [subject, first URI SAN]. */
const readCertificate = (r: WireReader): [string, string] => {
  let subject = ""
  let uri = ""
  while (r.pos < r.end) {
    const tag = r.varint()
    const f = tag >>> 3
    if (f === 1) {
      expectWireType(tag & 7, Bytes, "CertificateProperties.subject_alt_name")
      const san = r.sub()
      while (san.pos < san.end) {
        const t = san.varint()
        if (t >>> 3 === 1 && uri === "") {
          expectWireType(t & 7, Bytes, "SubjectAltName.uri")
          uri = san.string()
        } else san.skip(t & 7)
      }
    } else if (f === 2) {
      expectWireType(tag & 7, Bytes, "CertificateProperties.subject")
      subject = r.string()
    } else r.skip(tag & 7)
  }
  return [subject, uri]
}

/** `map<string, google.protobuf.Any>` entry; Any: type_url 1, value 2. */
const readFilterStateEntry = (r: WireReader): FilterStateObject => {
  let key = ""
  let typeUrl = ""
  let value: Uint8Array = EMPTY
  while (r.pos < r.end) {
    const tag = r.varint()
    const f = tag >>> 3
    if (f === 1) {
      expectWireType(tag & 7, Bytes, "filter_state_objects.key")
      key = r.string()
    } else if (f === 2) {
      expectWireType(tag & 7, Bytes, "filter_state_objects.value")
      const any = r.sub()
      while (any.pos < any.end) {
        const t = any.varint()
        const g = t >>> 3
        if (g === 1) {
          expectWireType(t & 7, Bytes, "Any.type_url")
          typeUrl = any.string()
        } else if (g === 2) {
          expectWireType(t & 7, Bytes, "Any.value")
          value = any.bytes()
        } else any.skip(t & 7)
      }
    } else r.skip(tag & 7)
  }
  return { key, typeUrl, value }
}

const EMPTY = new Uint8Array(0)
