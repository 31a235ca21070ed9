// An error log: one failed access log entry as meshsight keeps it (SkyWalking's `persistence` analyzer keeps the
// whole entry as a JSON log; meshsight keeps the fields one needs to see what failed, each bounded). This Schema is
// the single definition: the builder makes values of this shape and GET /api/logs answers with them.
import { Schema } from "effect"

const NullableNumber = Schema.NullOr(Schema.Number)

export const LogSide = Schema.Struct({ service: Schema.String, instance: Schema.String })
export type LogSide = typeof LogSide.Type

export const ResponseFlag = Schema.Struct({
  /** Envoy's short code (`UF`), as `%RESPONSE_FLAGS%` prints it. */
  code: Schema.String,
  /** The `envoy.data.accesslog.v3.ResponseFlags` field (`upstream_connection_failure`). */
  name: Schema.String
})

/** The proxy's timings of the exchange, ms from its first byte received downstream; null when Envoy logged none. */
export const LogTimings = Schema.Struct({
  /** time_to_last_rx_byte: the whole request received. */
  requestReceivedMs: NullableNumber,
  /** time_to_first_upstream_tx_byte: the request began upstream. */
  upstreamRequestStartMs: NullableNumber,
  /** time_to_first_upstream_rx_byte / time_to_last_upstream_rx_byte: the upstream's answer began / ended. */
  upstreamResponseStartMs: NullableNumber,
  upstreamResponseEndMs: NullableNumber,
  /** time_to_first_downstream_tx_byte / time_to_last_downstream_tx_byte: the answer to the caller began / ended. */
  responseStartMs: NullableNumber,
  responseEndMs: NullableNumber
})

export const ErrorLog = Schema.Struct({
  /** Unique within the store that answered; pages are ordered by (time, id). */
  id: Schema.String,
  /** End of the exchange (start + time_to_last_downstream_tx_byte), epoch ms: SkyWalking's log timestamp. */
  time: Schema.Number,
  startTime: Schema.Number,
  /** The workload whose proxy reported the entry: the log is filed under it, as SkyWalking does. */
  service: Schema.String,
  instance: Schema.String,
  /** The other side's service (the caller on a server side, the callee otherwise); null when unknown. */
  peer: Schema.NullOr(Schema.String),
  role: Schema.Literals(["sidecar", "proxy", "waypoint"]),
  /** `server` (inbound sidecar), `client` (outbound sidecar) or `proxy` (a gateway or waypoint, both hops). */
  side: Schema.Literals(["server", "client", "proxy"]),
  source: Schema.NullOr(LogSide),
  destination: Schema.NullOr(LogSide),
  protocol: Schema.Literals(["HTTP", "gRPC", "TCP"]),
  /** `METHOD:path` without the query, as the metrics name endpoints; "" for TCP. */
  endpoint: Schema.String,
  method: Schema.String,
  authority: Schema.String,
  path: Schema.String,
  /** null when Envoy logged no response code (and for TCP). */
  responseCode: NullableNumber,
  grpcStatus: NullableNumber,
  responseCodeDetails: Schema.String,
  responseFlags: Schema.Array(ResponseFlag),
  latencyMs: Schema.Number,
  timings: LogTimings,
  upstreamCluster: Schema.String,
  /** `ip:port` of the upstream host; "" when none was picked. */
  upstreamHost: Schema.String,
  /** `x-request-id`. */
  requestId: Schema.String,
  /** From traceparent, x-b3-traceid or sw8 when Envoy logged them; "" otherwise. */
  traceId: Schema.String,
  userAgent: Schema.String,
  tlsMode: Schema.Literals(["NONE", "TLS", "mTLS"]),
  /** HTTP: request / response headers + body bytes. TCP: bytes received from / sent to the downstream. */
  requestBytes: Schema.Number,
  responseBytes: Schema.Number
})
export type ErrorLog = typeof ErrorLog.Type

/** GET /api/logs: newest first; `cursor` asks for the next page, null on the last one. */
export const ErrorLogPage = Schema.Struct({ logs: Schema.Array(ErrorLog), cursor: Schema.NullOr(Schema.String) })
export type ErrorLogPage = typeof ErrorLogPage.Type

/** What GET /api/logs filters on; times are epoch ms, [start, end). */
export interface LogQuery {
  readonly service?: string | undefined
  readonly instance?: string | undefined
  readonly peer?: string | undefined
  readonly endpoint?: string | undefined
  readonly code?: number | undefined
  readonly start?: number | undefined
  readonly end?: number | undefined
  readonly limit: number
  /** The last log of the previous page: this page starts strictly after it (older). */
  readonly after?: LogPosition | undefined
}

/** A log's place in the newest-first order. */
export interface LogPosition {
  readonly time: number
  readonly id: number
}

export const encodeCursor = (p: LogPosition): string => Buffer.from(`${p.time}:${p.id}`).toString("base64url")

export const decodeCursor = (cursor: string): LogPosition | undefined => {
  const m = /^(\d{1,16}(?:\.\d+)?):(\d{1,16})$/.exec(Buffer.from(cursor, "base64url").toString("latin1"))
  return m === null ? undefined : { time: Number(m[1]), id: Number(m[2]) }
}

/** True when `a` comes before `b` newest first: later time, or the same time and a larger id. */
export const newerThan = (a: LogPosition, b: LogPosition): boolean => a.time > b.time || (a.time === b.time && a.id > b.id)

/** Whether a log passes a query's filters (the store's own retention aside). */
export const matches = (log: ErrorLog, q: LogQuery): boolean =>
  (q.service === undefined || log.service === q.service) &&
  (q.instance === undefined || log.instance === q.instance) &&
  (q.peer === undefined || log.peer === q.peer) &&
  (q.endpoint === undefined || log.endpoint === q.endpoint) &&
  (q.code === undefined || log.responseCode === q.code) &&
  (q.start === undefined || log.time >= q.start) &&
  (q.end === undefined || log.time < q.end)

/** One page, newest first, from the matching logs in any order; those at or before `q.after` are left out. */
export const pageOf = (found: ReadonlyArray<{ readonly log: ErrorLog; readonly position: LogPosition }>, q: LogQuery): ErrorLogPage => {
  const after = q.after
  const rest = after === undefined ? [...found] : found.filter((f) => newerThan(after, f.position))
  rest.sort((a, b) => (newerThan(a.position, b.position) ? -1 : 1))
  const page = rest.slice(0, q.limit)
  return {
    logs: page.map((f) => f.log),
    cursor: rest.length > q.limit ? encodeCursor(page[page.length - 1].position) : null
  }
}
