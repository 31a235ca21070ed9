// Everything kept for one entity in one minute. Every field adds up, so two SeriesStats merge exactly.
import type { MeshMetric } from "./mesh-metric.ts"
import { LatencyHistogram } from "./latency-histogram.ts"

export const addCount = <K>(map: Map<K, number>, key: K, n: number) => map.set(key, (map.get(key) ?? 0) + n)

/** Adds `n` to `code` in `[code, count, code, count, …]`: a series sees a handful of codes; a short array beats a Map. */
export const addCode = (codes: Array<number>, code: number, n: number) => {
  for (let i = 0; i < codes.length; i += 2) {
    if (codes[i] === code) {
      codes[i + 1] += n
      return
    }
  }
  codes.push(code, n)
}

/** Counts of a TCP series: a TCP record is a connection and its bytes. */
export interface TcpCounts {
  connections: number
  receivedBytes: number
  sentBytes: number
}

export class SeriesStats {
  calls = 0
  successes = 0
  latencySumMs = 0
  readonly latency = new LatencyHistogram()
  /**
   * Apdex counts `[satisfied, tolerating]`, only where an apdex threshold applies (services). Fields most series
   * never use live in objects made on first use: at 100 k live series every field costs ~1 MiB.
   */
  readonly apdex: [number, number] | undefined
  /** The first status code seen and its count inline (most series see one), the others as `[code, count, …]`. */
  code = 0
  codeCount = 0
  otherCodes: Array<number> | undefined
  responseFlags: Map<string, number> | undefined
  httpCalls = 0
  grpcCalls = 0
  tcp: TcpCounts | undefined
  sidecarReqNsSum = 0
  sidecarReqCount = 0
  sidecarRespNsSum = 0
  sidecarRespCount = 0

  constructor(hasApdex: boolean) {
    this.apdex = hasApdex ? [0, 0] : undefined
  }

  get hasApdex(): boolean {
    return this.apdex !== undefined
  }

  /**
   * `apdexThresholdMs` is the T of this entity's apdex (0 when it keeps none). A TCP record is a connection, not a
   * request: it adds bytes and flags, but not calls or latency (its duration is the connection's life).
   */
  record(m: MeshMetric, apdexThresholdMs: number): void {
    if (m.internalErrorCode !== "") addCount((this.responseFlags ??= new Map()), m.internalErrorCode, 1)
    if (m.protocol === "TCP") {
      this.addTcp(1, m.receivedBytes, m.sentBytes)
      return
    }
    this.calls++
    if (m.success) this.successes++
    this.latencySumMs += m.latencyMs
    this.latency.record(m.latencyMs)
    if (this.apdex !== undefined && m.success) {
      // Failed calls are frustrated whatever their latency.
      if (m.latencyMs <= apdexThresholdMs) this.apdex[0]++
      else if (m.latencyMs <= 4 * apdexThresholdMs) this.apdex[1]++
    }
    this.addCode(m.responseCode, 1)
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

  /** Adds `n` calls answered with status `code`. */
  addCode(code: number, n: number): void {
    if (this.codeCount === 0) {
      this.code = code
      this.codeCount = n
    } else if (this.code === code) this.codeCount += n
    else addCode((this.otherCodes ??= []), code, n)
  }

  addTcp(connections: number, receivedBytes: number, sentBytes: number): void {
    const tcp = (this.tcp ??= { connections: 0, receivedBytes: 0, sentBytes: 0 })
    tcp.connections += connections
    tcp.receivedBytes += receivedBytes
    tcp.sentBytes += sentBytes
  }

  /** Merges counts from a series of the same entity (so with the same apdex, or none). */
  merge(o: SeriesStats): void {
    this.calls += o.calls
    this.successes += o.successes
    this.latencySumMs += o.latencySumMs
    this.latency.merge(o.latency)
    if (this.apdex !== undefined && o.apdex !== undefined) {
      this.apdex[0] += o.apdex[0]
      this.apdex[1] += o.apdex[1]
    }
    if (o.codeCount > 0) this.addCode(o.code, o.codeCount)
    if (o.otherCodes) for (let i = 0; i < o.otherCodes.length; i += 2) this.addCode(o.otherCodes[i], o.otherCodes[i + 1])
    if (o.responseFlags) for (const [k, n] of o.responseFlags) addCount((this.responseFlags ??= new Map()), k, n)
    this.httpCalls += o.httpCalls
    this.grpcCalls += o.grpcCalls
    if (o.tcp) this.addTcp(o.tcp.connections, o.tcp.receivedBytes, o.tcp.sentBytes)
    this.sidecarReqNsSum += o.sidecarReqNsSum
    this.sidecarReqCount += o.sidecarReqCount
    this.sidecarRespNsSum += o.sidecarRespNsSum
    this.sidecarRespCount += o.sidecarRespCount
  }

  /** Status code → count. */
  statusCodeCounts(): Record<string, number> {
    const out: Record<string, number> = {}
    if (this.codeCount > 0) out[String(this.code)] = this.codeCount
    const others = this.otherCodes
    if (others) for (let i = 0; i < others.length; i += 2) out[String(others[i])] = others[i + 1]
    return out
  }
}
