// The analyze stage: access log entries + identities → mesh-metric records, one per side of a call
// (rules of docs/design.md §3, which follow SkyWalking's envoy receiver).
import type { AccessLog, AccessLogCommon, TlsInfo } from "../domain/access-log.ts"
import { isInboundCluster } from "../domain/addresses.ts"
import type { EntrySides, WorkloadIdentity } from "../domain/identity.ts"
import { type DetectPoint, type MeshMetric, type MeshProtocol, type TlsMode, UNKNOWN_SERVICE } from "../domain/mesh-metric.ts"
import type { ReportingNode } from "../domain/node.ts"
import { firstResponseFlag } from "../domain/response-flags.ts"
import type { EndpointName, EndpointNamer } from "./endpoint-names.ts"

/** Why a side of an entry yielded no record, for the identity-miss counters. */
export interface AnalysisMisses {
  /** The reporting workload itself is unknown: nothing can be recorded for that side. */
  local: number
  /** The caller is unknown (server-side record kept without relation). */
  source: number
  /** The callee is unknown (client-side record dropped). */
  destination: number
}

export const UNKNOWN_CALLER: WorkloadIdentity = { service: UNKNOWN_SERVICE, instance: "", namespace: "", labels: {} }

const NS_PER_MS = 1e6

/** `/package.Service/Method`: how gRPC names its HTTP/2 paths. */
const GRPC_PATH = /^\/[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)+\/[A-Za-z_][\w]*$/

export const protocolOf = (e: AccessLog): MeshProtocol => {
  if (e.kind === "tcp") return "TCP"
  if (e.grpcStatus !== undefined) return "gRPC"
  return e.protocolVersion === "HTTP/2" && GRPC_PATH.test(e.path) ? "gRPC" : "HTTP"
}

const hasIdentity = (subject: string, uriSan: string) => subject !== "" || uriSan !== ""

export const tlsModeOf = (tls: TlsInfo | undefined): TlsMode => {
  if (tls === undefined || !hasIdentity(tls.localSubject, tls.localUriSan)) return "NONE"
  return hasIdentity(tls.peerSubject, tls.peerUriSan) ? "mTLS" : "TLS"
}

const NO_ENDPOINT: EndpointName = { name: "", grouped: false }

/** Whole milliseconds of a duration, truncated as SkyWalking does (each timing truncated on its own). */
const ms = (ns: number | undefined): number => (ns === undefined ? 0 : Math.floor(ns / NS_PER_MS))

const isSuccess = (e: AccessLog, code: number, detectPoint: DetectPoint): boolean => {
  if (e.kind === "tcp") return e.common.responseFlags === 0
  if (e.grpcStatus !== undefined && e.grpcStatus !== 0) return false
  return detectPoint === "server" ? code < 500 : code < 400
}

const record = (
  node: ReportingNode,
  e: AccessLog,
  detectPoint: DetectPoint,
  source: WorkloadIdentity | undefined,
  destination: WorkloadIdentity,
  names: EndpointNamer
): MeshMetric => {
  const c: AccessLogCommon = e.common
  const start = Math.floor(c.startTimeMs)
  // Server side: the whole exchange as the caller saw it. Client side: from the first byte sent upstream to the
  // last byte received from it.
  const startTimeMs = detectPoint === "server" ? start : start + ms(c.timeToFirstUpstreamTxByteNs)
  const endTimeMs = detectPoint === "server" ? start + ms(c.timeToLastDownstreamTxByteNs) : start + ms(c.timeToLastUpstreamRxByteNs)
  const code = e.kind === "http" ? (e.responseCode === 0 ? 200 : e.responseCode) : 0
  // The endpoint is the destination's: grouped by the rules of the service that serves it.
  const endpoint = e.kind === "http" ? names(destination.service, e) : NO_ENDPOINT
  return {
    role: node.role,
    detectPoint,
    source,
    destination,
    endpoint: endpoint.name,
    endpointGrouped: endpoint.grouped,
    startTimeMs,
    endTimeMs,
    latencyMs: Math.max(1, endTimeMs - startTimeMs),
    responseCode: code,
    success: isSuccess(e, code, detectPoint),
    protocol: protocolOf(e),
    tlsMode: tlsModeOf(c.tls),
    internalErrorCode: firstResponseFlag(c.responseFlags),
    receivedBytes: e.kind === "tcp" ? e.receivedBytes : 0,
    sentBytes: e.kind === "tcp" ? e.sentBytes : 0,
    sidecarInternalReqLatencyNs: c.timeToFirstUpstreamTxByteNs,
    sidecarInternalRespLatencyNs:
      c.timeToFirstDownstreamTxByteNs !== undefined && c.timeToFirstUpstreamRxByteNs !== undefined
        ? c.timeToFirstDownstreamTxByteNs - c.timeToFirstUpstreamRxByteNs
        : undefined,
    entry: e
  }
}

/**
 * Turns one message's entries into records. A sidecar entry is one side of a call; a gateway or waypoint entry
 * is both its hops: outside → proxy (server side) and proxy → upstream (client side).
 */
export const analyze = (
  node: ReportingNode,
  entries: ReadonlyArray<AccessLog>,
  sides: ReadonlyArray<EntrySides>,
  misses: AnalysisMisses,
  names: EndpointNamer
): Array<MeshMetric> => {
  const out: Array<MeshMetric> = []
  const bothSides = node.role !== "sidecar"
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]
    const s = sides[i]
    if (s.local === undefined) {
      misses.local++
      continue
    }
    const inbound = isInboundCluster(e.common.upstreamCluster)
    if (bothSides || inbound) {
      // A gateway's caller from outside the mesh is kept as the service UNKNOWN (as SkyWalking); a sidecar's
      // unknown caller is dropped: the destination's own metrics still count, but no relation.
      if (s.downstream === undefined) misses.source++
      out.push(record(node, e, "server", s.downstream ?? (bothSides ? UNKNOWN_CALLER : undefined), s.local, names))
    }
    if (bothSides || !inbound) {
      if (s.upstream === undefined) misses.destination++
      else out.push(record(node, e, "client", s.local, s.upstream, names))
    }
  }
  return out
}
