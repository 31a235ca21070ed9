// Everything kept for one entity in one minute. Every field adds up, so two SeriesStats merge exactly.
import type { MeshMetric } from "../domain/mesh-metric.ts"
import type { MetricSummary } from "../query/api-model.ts"
import { LatencyHistogram } from "./latency-histogram.ts"

const PERCENTILES = [50, 75, 90, 95, 99] as const

const addCount = <K>(map: Map<K, number>, key: K, n: number) => map.set(key, (map.get(key) ?? 0) + n)

/**
 * Status code counts as `[code, count, code, count, …]`: a series sees a handful of codes, and a short array
 * scanned linearly is much smaller than a Map (see LatencyHistogram on memory).
 */
const addCode = (codes: Array<number>, code: number, n: number) => {
  for (let i = 0; i < codes.length; i += 2) {
    if (codes[i] === code) {
      codes[i + 1] += n
      return
    }
  }
  codes.push(code, n)
}

const statusCodeCounts = (codes: ReadonlyArray<number> | undefined): Record<string, number> => {
  const out: Record<string, number> = {}
  if (codes) for (let i = 0; i < codes.length; i += 2) out[String(codes[i])] = codes[i + 1]
  return out
}

export class SeriesStats {
  calls = 0
  successes = 0
  latencySumMs = 0
  readonly latency = new LatencyHistogram()
  /** Apdex counts; only kept where an apdex threshold applies (services). */
  apdexSatisfied = 0
  apdexTolerating = 0
  readonly hasApdex: boolean
  statusCodes: Array<number> | undefined
  responseFlags: Map<string, number> | undefined
  httpCalls = 0
  grpcCalls = 0
  tcpCalls = 0
  receivedBytes = 0
  sentBytes = 0
  sidecarReqNsSum = 0
  sidecarReqCount = 0
  sidecarRespNsSum = 0
  sidecarRespCount = 0

  constructor(hasApdex: boolean) {
    this.hasApdex = hasApdex
  }

  /**
   * `apdexThresholdMs` is the T of this entity's apdex (0 when it keeps none). A TCP record is a connection, not a
   * request: it adds bytes and flags, but not calls or latency (its duration is the connection's life).
   */
  record(m: MeshMetric, apdexThresholdMs: number): void {
    if (m.internalErrorCode !== "") addCount((this.responseFlags ??= new Map()), m.internalErrorCode, 1)
    if (m.protocol === "TCP") {
      this.tcpCalls++
      this.receivedBytes += m.receivedBytes
      this.sentBytes += m.sentBytes
      return
    }
    this.calls++
    if (m.success) this.successes++
    this.latencySumMs += m.latencyMs
    this.latency.record(m.latencyMs)
    if (this.hasApdex && m.success) {
      // Failed calls are frustrated whatever their latency.
      if (m.latencyMs <= apdexThresholdMs) this.apdexSatisfied++
      else if (m.latencyMs <= 4 * apdexThresholdMs) this.apdexTolerating++
    }
    if (this.statusCodes === undefined) this.statusCodes = [m.responseCode, 1]
    else addCode(this.statusCodes, m.responseCode, 1)
    if (m.protocol === "HTTP") this.httpCalls++
    else this.grpcCalls++
    if (m.sidecarInternalReqLatencyNs !== undefined) {
      this.sidecarReqNsSum += m.sidecarInternalReqLatencyNs
      this.sidecarReqCount++
    }
    if (m.sidecarInternalRespLatencyNs !== undefined) {
      this.sidecarRespNsSum += m.sidecarInternalRespLatencyNs
      this.sidecarRespCount++
    }
  }

  merge(o: SeriesStats): void {
    this.calls += o.calls
    this.successes += o.successes
    this.latencySumMs += o.latencySumMs
    this.latency.merge(o.latency)
    this.apdexSatisfied += o.apdexSatisfied
    this.apdexTolerating += o.apdexTolerating
    if (o.statusCodes) {
      const codes = (this.statusCodes ??= [])
      for (let i = 0; i < o.statusCodes.length; i += 2) addCode(codes, o.statusCodes[i], o.statusCodes[i + 1])
    }
    if (o.responseFlags) for (const [k, n] of o.responseFlags) addCount((this.responseFlags ??= new Map()), k, n)
    this.httpCalls += o.httpCalls
    this.grpcCalls += o.grpcCalls
    this.tcpCalls += o.tcpCalls
    this.receivedBytes += o.receivedBytes
    this.sentBytes += o.sentBytes
    this.sidecarReqNsSum += o.sidecarReqNsSum
    this.sidecarReqCount += o.sidecarReqCount
    this.sidecarRespNsSum += o.sidecarRespNsSum
    this.sidecarRespCount += o.sidecarRespCount
  }

  /** The API view; `minutes` is the length of the range the stats cover, for calls per minute. */
  summary(minutes: number): MetricSummary {
    const [p50, p75, p90, p95, p99] = this.latency.percentiles(PERCENTILES)
    const round2 = (x: number) => Math.round(x * 100) / 100
    return {
      calls: this.calls,
      cpm: round2(this.calls / Math.max(1, minutes)),
      respTimeMs: this.calls === 0 ? 0 : round2(this.latencySumMs / this.calls),
      sla: this.calls === 0 ? 100 : round2((this.successes / this.calls) * 100),
      percentiles: { p50, p75, p90, p95, p99 },
      apdex: this.hasApdex && this.calls > 0
        ? Math.round(((this.apdexSatisfied + this.apdexTolerating / 2) / this.calls) * 10000) / 10000
        : null,
      statusCodes: statusCodeCounts(this.statusCodes),
      responseFlags: Object.fromEntries(this.responseFlags ?? []),
      receivedBytes: this.receivedBytes,
      sentBytes: this.sentBytes,
      sidecarInternalReqLatencyNanos: this.sidecarReqCount === 0 ? null : Math.round(this.sidecarReqNsSum / this.sidecarReqCount),
      sidecarInternalRespLatencyNanos: this.sidecarRespCount === 0
        ? null
        : Math.round(this.sidecarRespNsSum / this.sidecarRespCount),
      protocols: Object.fromEntries(
        ([["HTTP", this.httpCalls], ["gRPC", this.grpcCalls], ["TCP", this.tcpCalls]] as const).filter(([, n]) => n > 0)
      )
    }
  }
}
