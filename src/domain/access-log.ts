// Domain models of what meshsight reads from Envoy's access logs. These Schemas are the single definition of
// the types; the wire codec (src/protocol/als-codec.ts) builds values of exactly these shapes.
import { Schema } from "effect"

export const Address = Schema.Struct({
  ip: Schema.String,
  port: Schema.Number,
  /**
   * Set (and `ip` empty) for an Envoy internal address (`Address.envoy_internal_address`, field 3), in Envoy's own
   * form `envoy://SERVER_LISTENER_NAME/ENDPOINT_ID`: a hop between listeners inside one proxy (a waypoint's
   * HBONE tunnels), never an IP.
   */
  internal: Schema.optionalKey(Schema.String)
})
export type Address = typeof Address.Type

/** A JSON value decoded from a `google.protobuf.Struct`/`Value`. */
export type JsonValue = null | boolean | number | string | ReadonlyArray<JsonValue> | { readonly [k: string]: JsonValue }
export const JsonValue: Schema.Codec<JsonValue> = Schema.Union([
  Schema.Null,
  Schema.Boolean,
  Schema.Number,
  Schema.String,
  Schema.Array(Schema.suspend(() => JsonValue)),
  Schema.Record(
    Schema.String,
    Schema.suspend(() => JsonValue)
  )
])
export const JsonObject = Schema.Record(Schema.String, JsonValue)
export type JsonObject = typeof JsonObject.Type

/** The reporting proxy, from `StreamAccessLogsMessage.identifier.node` (envoy.config.core.v3.Node). */
export const NodeInfo = Schema.Struct({
  id: Schema.String,
  cluster: Schema.String,
  metadata: JsonObject
})
export type NodeInfo = typeof NodeInfo.Type

export const Identifier = Schema.Struct({
  node: NodeInfo,
  logName: Schema.String
})
export type Identifier = typeof Identifier.Type

/** One `filter_state_objects` entry (a `google.protobuf.Any`), kept as bytes until an analyzer asks for it. */
export const FilterStateObject = Schema.Struct({
  key: Schema.String,
  /** The Any's type URL; "" as decoded without log detail (alsDecoder): analyzers tell the encoding by `key`. */
  typeUrl: Schema.String,
  value: Schema.Uint8Array
})
export type FilterStateObject = typeof FilterStateObject.Type

/** What meshsight keeps of `TLSProperties`: whether each side presented a certificate identity. */
export const TlsInfo = Schema.Struct({
  localSubject: Schema.String,
  localUriSan: Schema.String,
  peerSubject: Schema.String,
  peerUriSan: Schema.String
})
export type TlsInfo = typeof TlsInfo.Type

const OptionalNumber = Schema.UndefinedOr(Schema.Number)
const OptionalAddress = Schema.UndefinedOr(Address)

/**
 * `AccessLogCommon`. Durations are nanoseconds, `undefined` when Envoy did not set them. The addresses are
 * `undefined` too as decoded without them (alsDecoder): only IP-based analyzers (k8s-mesh) and error logs read them;
 * and `filterState` is empty as decoded without it: only mx-mesh reads it.
 */
export const AccessLogCommon = Schema.Struct({
  downstreamRemoteAddress: OptionalAddress,
  downstreamLocalAddress: OptionalAddress,
  downstreamDirectRemoteAddress: OptionalAddress,
  upstreamRemoteAddress: OptionalAddress,
  upstreamLocalAddress: OptionalAddress,
  upstreamCluster: Schema.String,
  /** Epoch milliseconds, fractional (a double: sub-millisecond to about 0.25 µs at today's epochs). */
  startTimeMs: Schema.Number,
  timeToLastRxByteNs: OptionalNumber,
  timeToFirstUpstreamTxByteNs: OptionalNumber,
  timeToLastUpstreamTxByteNs: OptionalNumber,
  timeToFirstUpstreamRxByteNs: OptionalNumber,
  timeToLastUpstreamRxByteNs: OptionalNumber,
  timeToFirstDownstreamTxByteNs: OptionalNumber,
  timeToLastDownstreamTxByteNs: OptionalNumber,
  /** Bit (n − 1) is set when `ResponseFlags` field n is true; see src/domain/response-flags.ts. */
  responseFlags: Schema.Number,
  tls: Schema.UndefinedOr(TlsInfo),
  filterState: Schema.Array(FilterStateObject)
})
export type AccessLogCommon = typeof AccessLogCommon.Type

export const HttpVersion = Schema.Literals(["unspecified", "HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/3"])
export type HttpVersion = typeof HttpVersion.Type

/**
 * How many bytes of a request's user agent, request id and trace id are kept: a client chooses these headers, so
 * one entry must not be able to bring a megabyte of them into an error log.
 */
export const HEADER_VALUE_MAX_BYTES = 256

export const HttpAccessLog = Schema.Struct({
  kind: Schema.Literal("http"),
  common: AccessLogCommon,
  protocolVersion: HttpVersion,
  /** `METHOD_UNSPECIFIED` when Envoy logged no request. */
  method: Schema.String,
  /** "" as decoded without log detail (alsDecoder): nothing in meshsight reads it. */
  scheme: Schema.String,
  authority: Schema.String,
  path: Schema.String,
  hasRequest: Schema.Boolean,
  /** 0 when Envoy logged none (no upstream response). */
  responseCode: Schema.Number,
  responseCodeDetails: Schema.String,
  /** The `grpc-status` response trailer, when Envoy logged trailers. */
  grpcStatus: OptionalNumber,
  /**
   * `HTTPRequestProperties.user_agent` and `.request_id` (`x-request-id`), cut to HEADER_VALUE_MAX_BYTES. These two,
   * `traceId` and `responseCodeDetails` are read for error logs only: "" where meshsight keeps none (the decoder
   * skips them, as it does `scheme` and a filter-state object's `typeUrl`: alsDecoder).
   */
  userAgent: Schema.String,
  requestId: Schema.String,
  /**
   * The trace id of a `traceparent`, `x-b3-traceid` or `sw8` request header (in that order of preference), when
   * Envoy was told to log it (`additional_request_headers_to_log`); "" otherwise.
   */
  traceId: Schema.String,
  /** Request headers + body bytes, response headers + body bytes. */
  requestBytes: Schema.Number,
  responseBytes: Schema.Number
})
export type HttpAccessLog = typeof HttpAccessLog.Type

export const TcpAccessLog = Schema.Struct({
  kind: Schema.Literal("tcp"),
  common: AccessLogCommon,
  receivedBytes: Schema.Number,
  sentBytes: Schema.Number
})
export type TcpAccessLog = typeof TcpAccessLog.Type

export const AccessLog = Schema.Union([HttpAccessLog, TcpAccessLog])
export type AccessLog = typeof AccessLog.Type

/** An entry of a message that could not be decoded: skipped, counted and logged with its reason. */
export const EntryRejection = Schema.Struct({
  index: Schema.Number,
  reason: Schema.String
})
export type EntryRejection = typeof EntryRejection.Type

/** One `StreamAccessLogsMessage` (v2 or v3: the fields meshsight reads have the same numbers in both). */
export const AlsMessage = Schema.Struct({
  identifier: Schema.UndefinedOr(Identifier),
  entries: Schema.Array(AccessLog),
  rejected: Schema.Array(EntryRejection)
})
export type AlsMessage = typeof AlsMessage.Type
