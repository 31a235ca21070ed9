// Which entries become error logs, and what each log holds. The rule is SkyWalking's `envoy-als` log rule
// (oap-server/server-starter/src/main/resources/lal/envoy-als.yaml): an HTTP entry is kept when its response code
// is 400 or more or any response flag is set; a TCP entry (`envoy-als-tcp`) when any response flag is set. meshsight
// also keeps gRPC calls whose `grpc-status` trailer is not OK (0): they fail under an HTTP 200.
import type { AccessLog, AccessLogCommon } from "../domain/access-log.ts"
import { isInboundCluster } from "../domain/addresses.ts"
import type { EntrySides, WorkloadIdentity } from "../domain/identity.ts"
import type { ReportingNode } from "../domain/node.ts"
import { RESPONSE_FLAG_CODES, RESPONSE_FLAG_NAMES } from "../domain/response-flags.ts"
import { protocolOf, tlsModeOf } from "../analysis/analyze.ts"
import type { EndpointNamer } from "../analysis/endpoint-names.ts"
import type { ErrorLog, LogSide } from "./error-log.ts"

export const isFailed = (e: AccessLog): boolean => {
  if (e.common.responseFlags !== 0) return true
  if (e.kind === "tcp") return false
  return e.responseCode >= 400 || (e.grpcStatus !== undefined && e.grpcStatus !== 0)
}

/**
 * The rate limiter's key part after the service: the response flags when any is set, else the response code, as
 * the rule's sampler ids (`service:flags`, `service:code`).
 */
export const limitKeyOf = (e: AccessLog): string =>
  e.common.responseFlags !== 0 ? `f${e.common.responseFlags}` : e.kind === "http" ? `c${e.responseCode}` : "c0"

/** Longest path (and endpoint) kept, in UTF-16 units; other strings a client or proxy chooses get SHORT_MAX. */
export const PATH_MAX = 1024
export const SHORT_MAX = 256

/**
 * `s` cut to `max` units, as a string of its own: a slice of a megabyte path would be a view that keeps the whole
 * path alive for as long as the log lives.
 */
export const bounded = (s: string, max: number): string => (s.length <= max ? s : Buffer.from(s.slice(0, max), "utf8").toString("utf8"))

const flagsOf = (mask: number): ErrorLog["responseFlags"] => {
  const out: Array<ErrorLog["responseFlags"][number]> = []
  for (let i = 0; i < RESPONSE_FLAG_NAMES.length; i++) {
    if (mask & (1 << i)) out.push({ code: RESPONSE_FLAG_CODES[i], name: RESPONSE_FLAG_NAMES[i] })
  }
  return out
}

const NS_PER_MS = 1e6
const msOrNull = (ns: number | undefined): number | null => (ns === undefined ? null : Math.round(ns / 1000) / 1000)
const sideOf = (w: WorkloadIdentity | undefined): LogSide | null =>
  w === undefined ? null : { service: bounded(w.service, SHORT_MAX), instance: bounded(w.instance, SHORT_MAX) }

const timingsOf = (c: AccessLogCommon): ErrorLog["timings"] => ({
  requestReceivedMs: msOrNull(c.timeToLastRxByteNs),
  upstreamRequestStartMs: msOrNull(c.timeToFirstUpstreamTxByteNs),
  upstreamResponseStartMs: msOrNull(c.timeToFirstUpstreamRxByteNs),
  upstreamResponseEndMs: msOrNull(c.timeToLastUpstreamRxByteNs),
  responseStartMs: msOrNull(c.timeToFirstDownstreamTxByteNs),
  responseEndMs: msOrNull(c.timeToLastDownstreamTxByteNs)
})

/**
 * The log of a failed entry whose reporting workload is known (`local`). `id` is filled in by the store. A sidecar
 * entry is one side of a call (inbound: the caller is the peer; outbound: the callee); a gateway or waypoint entry
 * spans both hops and its peer is the upstream it called.
 */
export const errorLogOf = (
  node: ReportingNode,
  e: AccessLog,
  s: EntrySides,
  local: WorkloadIdentity,
  names: EndpointNamer
): Omit<ErrorLog, "id"> => {
  const c = e.common
  const start = Math.floor(c.startTimeMs)
  const durationMs = Math.floor((c.timeToLastDownstreamTxByteNs ?? c.timeToLastRxByteNs ?? 0) / NS_PER_MS)
  const side = node.role !== "sidecar" ? "proxy" : isInboundCluster(c.upstreamCluster) ? "server" : "client"
  const source = side === "server" ? s.downstream : side === "client" ? local : s.downstream
  const destination = side === "server" ? local : s.upstream
  const peer = side === "server" ? s.downstream : s.upstream
  const http = e.kind === "http" ? e : undefined
  const u = c.upstreamRemoteAddress
  return {
    time: start + durationMs,
    startTime: start,
    service: bounded(local.service, SHORT_MAX),
    instance: bounded(local.instance, SHORT_MAX),
    peer: peer === undefined ? null : bounded(peer.service, SHORT_MAX),
    role: node.role,
    side,
    source: sideOf(source),
    destination: sideOf(destination),
    protocol: protocolOf(e),
    // The endpoint as the reporting service's metrics name it (grouping rules applied).
    endpoint: http === undefined ? "" : bounded(names(local.service, http).name, PATH_MAX),
    method: http === undefined ? "" : http.method,
    authority: http === undefined ? "" : bounded(http.authority, SHORT_MAX),
    path: http === undefined ? "" : bounded(http.path, PATH_MAX),
    responseCode: http === undefined || http.responseCode === 0 ? null : http.responseCode,
    grpcStatus: http?.grpcStatus ?? null,
    responseCodeDetails: http === undefined ? "" : bounded(http.responseCodeDetails, SHORT_MAX),
    responseFlags: flagsOf(c.responseFlags),
    latencyMs: durationMs,
    timings: timingsOf(c),
    upstreamCluster: bounded(c.upstreamCluster, SHORT_MAX),
    upstreamHost: u === undefined ? "" : bounded(`${u.ip}:${u.port}`, SHORT_MAX),
    requestId: http?.requestId ?? "",
    traceId: http?.traceId ?? "",
    userAgent: http?.userAgent ?? "",
    tlsMode: tlsModeOf(c.tls),
    requestBytes: http === undefined ? (e.kind === "tcp" ? e.receivedBytes : 0) : http.requestBytes,
    responseBytes: http === undefined ? (e.kind === "tcp" ? e.sentBytes : 0) : http.responseBytes
  }
}
