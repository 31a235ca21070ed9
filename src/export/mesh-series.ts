// Istio's standard metrics, cumulative since start, one series per label set: the records of each ALS message
// are added in one call; scrapes render the Prometheus text, remote write reads the same series.
import type { DetectPoint, MeshMetric } from "../domain/mesh-metric.ts"
import type { WorkloadIdentity } from "../domain/identity.ts"
import type { ProxyRole } from "../domain/node.ts"
import {
  type LabelPair,
  labelPart,
  type LabelPart,
  destinationPart,
  type PairLabels,
  pairLabels,
  pairPrincipals,
  pairService,
  responseFlagsText,
  sourcePart,
  UNKNOWN
} from "./istio-labels.ts"

/** Envoy's default histogram buckets, which Istio's duration and size histograms use. */
export const ISTIO_BUCKETS: ReadonlyArray<number> = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000
]
const NB = ISTIO_BUCKETS.length
/** Per histogram: NB bucket counts, the overflow (+Inf) count, the sum and the count. */
export const HISTOGRAM_SLOTS = NB + 3

export type SeriesKind = "http" | "tcp"

export interface MeshSeries {
  readonly kind: SeriesKind
  /** The labels as exposition text, without braces or trailing comma; also the series' key. */
  readonly labelText: string
  /** Sorted by name, for remote write (empty values left out). */
  readonly pairs: ReadonlyArray<LabelPair>
  /**
   * http: [requests, duration histogram, request bytes histogram, response bytes histogram];
   * tcp: [sent bytes, received bytes, connections opened, connections closed]. Buckets are not cumulative.
   */
  readonly values: Float64Array
  lastUpdateMs: number
  /** Whether remote write has sent the series' zero sample already. */
  announced: boolean
}

export const HTTP_REQUESTS = 0
export const HTTP_DURATION = 1
export const HTTP_REQUEST_BYTES = 1 + HISTOGRAM_SLOTS
export const HTTP_RESPONSE_BYTES = 1 + 2 * HISTOGRAM_SLOTS
const HTTP_VALUES = 1 + 3 * HISTOGRAM_SLOTS
export const TCP_SENT = 0
export const TCP_RECEIVED = 1
export const TCP_OPENED = 2
export const TCP_CLOSED = 3

const observe = (values: Float64Array, base: number, v: number) => {
  let i = 0
  while (i < NB && v > ISTIO_BUCKETS[i]) i++
  values[base + i]++
  values[base + NB + 1] += v
  values[base + NB + 2]++
}

export interface MeshSeriesOptions {
  /** Label sets kept at most; a record that would start one more is refused (counted). */
  readonly maxSeries: number
  /** A series not updated for this long is dropped (as Istio's stat eviction). */
  readonly idleMs: number
  /** Labels added to every series in remote write only (e.g. meshsight_replica). */
  readonly extraPairs?: ReadonlyArray<LabelPair>
}

export interface RecordCounts {
  /** Records whose new series the limit refused. */
  refused: number
}

/** `reporter`: a sidecar's client side is `source`, its server side `destination`; a waypoint reports as `waypoint`. */
const SOURCE_REPORTER = labelPart([["reporter", "source"]])
const DESTINATION_REPORTER = labelPart([["reporter", "destination"]])
const WAYPOINT_REPORTER = labelPart([["reporter", "waypoint"]])
// Conditions, not a table indexed by role and side: indexing by those strings was a megamorphic keyed load per record.
const reporterOf = (role: ProxyRole, detectPoint: DetectPoint): LabelPart =>
  role === "waypoint" ? WAYPOINT_REPORTER : detectPoint === "client" ? SOURCE_REPORTER : DESTINATION_REPORTER

const PROTOCOLS: ReadonlyArray<MeshMetric["protocol"]> = ["HTTP", "gRPC", "TCP"]
const PROTOCOL_LABEL: Readonly<Record<MeshMetric["protocol"], string>> = { HTTP: "http", gRPC: "grpc", TCP: "tcp" }
const POLICIES = [UNKNOWN, "mutual_tls", "none"] as const

/**
 * The part after the identities: protocol, codes, flags, security policy. Memoised by the response flag mask, then
 * by `tailKey` of the rest, so the hot path builds no string.
 */
const tailParts = new Map<number, Map<number, LabelPart>>()
/**
 * Protocol, codes and policy as one number: code < 2^32 (UInt32Value); a gRPC status past 1021 (gRPC defines 0–16)
 * is written `unknown`; protocol and policy 0–2. At most 2^46, an exact double.
 */
const tailKey = (protocol: number, code: number, grpc: number | undefined, policy: number): number =>
  ((code * 1024 + (grpc === undefined ? 1023 : Math.min(grpc, 1022))) * 4 + protocol) * 4 + policy
const tailPart = (flagMask: number, key: number, protocol: number, code: number, grpc: number | undefined, policy: number): LabelPart => {
  let byKey = tailParts.get(flagMask)
  if (byKey === undefined) tailParts.set(flagMask, (byKey = new Map()))
  let part = byKey.get(key)
  if (part === undefined) {
    const name = PROTOCOLS[protocol]
    const pairs: Array<LabelPair> = [["request_protocol", PROTOCOL_LABEL[name]]]
    if (name !== "TCP")
      pairs.push(["response_code", String(code)], ["grpc_response_status", grpc === undefined ? "" : grpc < 1022 ? String(grpc) : UNKNOWN])
    pairs.push(["response_flags", responseFlagsText(flagMask)], ["connection_security_policy", POLICIES[policy]])
    byKey.set(key, (part = labelPart(pairs)))
  }
  return part
}

/**
 * Where the records of a pair of workloads on one reporter side last went, and the parts that chose it: a pair's
 * records mostly repeat one label set (the same Service, principals and outcome), so most records find their series
 * here after a few comparisons.
 */
interface LastSeries {
  service: LabelPart | undefined
  principals: LabelPart | undefined
  reporter: LabelPart | undefined
  flagMask: number
  tailKey: number
  series: MeshSeries | undefined
}
interface Pair {
  readonly src: LabelPart
  readonly dst: LabelPart
  readonly labels: PairLabels
  readonly client: LastSeries
  readonly server: LastSeries
}
/** The key of records whose source no analyzer knows. */
const NO_SOURCE = {}
const noSeries = (): LastSeries => ({
  service: undefined,
  principals: undefined,
  reporter: undefined,
  flagMask: 0,
  tailKey: 0,
  series: undefined
})

/**
 * Behind each pair's last series (below): a trie over the label parts of a record, keyed by the part objects
 * themselves (identity hashing: no string is built or hashed per record; a label text is over a kilobyte).
 */
interface Trie {
  readonly next: Map<LabelPart, Trie>
  series: MeshSeries | undefined
}
const newTrie = (): Trie => ({ next: new Map(), series: undefined })

export const makeMeshSeries = (options: MeshSeriesOptions) => {
  /** By label text: the one truth, consulted only when the parts' key is not yet known. */
  const series = new Map<string, MeshSeries>()
  /**
   * By the parts. Memos that start over make new part objects for the same labels, so several paths may lead to
   * one series: the trie is only a cache of `series`, started over when it grows past a few times its size or when
   * series are evicted.
   */
  let trie = newTrie()
  let trieNodes = 0
  const step = (node: Trie, part: LabelPart): Trie => {
    let next = node.next.get(part)
    if (next === undefined) {
      node.next.set(part, (next = newTrie()))
      trieNodes++
    }
    return next
  }
  let refusedTotal = 0
  let evictedTotal = 0
  /** When series were last evicted: a label set that comes back must not get samples before its old ones. */
  let lastEvictionMs = Number.NEGATIVE_INFINITY

  const create = (kind: SeriesKind, labelText: string, parts: ReadonlyArray<LabelPart>, nowMs: number) => {
    const pairs = parts
      .flatMap((p) => p.pairs)
      .concat(options.extraPairs ?? [])
      .filter(([, v]) => v !== "")
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    const s: MeshSeries = {
      kind,
      labelText,
      pairs,
      values: new Float64Array(kind === "http" ? HTTP_VALUES : 4),
      lastUpdateMs: nowMs,
      announced: false
    }
    series.set(labelText, s)
    return s
  }

  /** The series of these parts through the trie, made when new; undefined when the limit refuses a new one. */
  const lookup = (
    src: LabelPart,
    dst: LabelPart,
    svc: LabelPart,
    principals: LabelPart,
    tail: LabelPart,
    reporter: LabelPart,
    tcp: boolean,
    nowMs: number
  ): MeshSeries | undefined => {
    if (trieNodes > 8 * options.maxSeries + 4096) {
      trie = newTrie()
      trieNodes = 0
    }
    const leaf = step(step(step(step(step(step(trie, src), dst), svc), principals), tail), reporter)
    let s = leaf.series
    if (s === undefined) {
      const labelText = (reporter.text + src.text + dst.text + principals.text + svc.text + tail.text).slice(0, -1)
      s = series.get(labelText)
      if (s === undefined) {
        if (series.size >= options.maxSeries) return undefined
        s = create(tcp ? "tcp" : "http", labelText, [reporter, src, dst, principals, svc, tail], nowMs)
      }
      leaf.series = s
    }
    return s
  }

  /**
   * By the source and destination parts' ids: workloads, not pods (every pod of a workload shares its parts).
   * Reached only when `pairOf` meets a new pair of identity objects, so its key may be a string. Started over when
   * series are evicted, so a pair's last series is never one evicted since.
   */
  let pairs = new Map<string, Pair>()
  const pairOfParts = (src: LabelPart, dst: LabelPart): Pair => {
    const key = `${src.id} ${dst.id}`
    let pair = pairs.get(key)
    if (pair === undefined) {
      // A pair normally leads to a label set or more; past that many the map starts over (refused records).
      if (pairs.size >= options.maxSeries + 4096) {
        pairs = new Map()
        podPairs = new WeakMap()
      }
      pairs.set(key, (pair = { src, dst, labels: pairLabels(), client: noSeries(), server: noSeries() }))
    }
    return pair
  }
  /**
   * In front: by the identity objects themselves (pods), weakly, to their workloads' pair: two lookups instead of
   * four. Started over with the pairs.
   */
  let podPairs = new WeakMap<object, WeakMap<WorkloadIdentity, Pair>>()
  const pairOf = (source: WorkloadIdentity | undefined, destination: WorkloadIdentity): Pair => {
    const sourceKey = source ?? NO_SOURCE
    let byDestination = podPairs.get(sourceKey)
    if (byDestination === undefined) podPairs.set(sourceKey, (byDestination = new WeakMap()))
    let pair = byDestination.get(destination)
    if (pair === undefined) byDestination.set(destination, (pair = pairOfParts(sourcePart(source), destinationPart(destination))))
    return pair
  }

  /**
   * Adds one message's records. A waypoint entry's records come in pairs (server side, then client side, sharing
   * the entry): Istio's waypoint reports the call once, from the caller to the upstream, so the pair is joined.
   */
  const record = (metrics: ReadonlyArray<MeshMetric>, nowMs: number): RecordCounts => {
    const counts: RecordCounts = { refused: 0 }
    for (let i = 0; i < metrics.length; i++) {
      const m = metrics[i]
      const e = m.entry
      let source = m.source
      if (m.role !== "sidecar" && m.detectPoint === "server") {
        // Istio's proxies do not report this hop: a gateway reports only its outbound hop (as `source`), a
        // waypoint the joined pair, below.
        continue
      }
      if (m.role === "waypoint") {
        const prev = i > 0 ? metrics[i - 1] : undefined
        source = prev !== undefined && prev.entry === e && prev.detectPoint === "server" ? prev.source : undefined
      }
      const server = m.detectPoint === "server" || m.role === "waypoint"
      const reporter = reporterOf(m.role, m.detectPoint)
      const pair = pairOf(source, m.destination)
      const svc = pairService(pair.labels, e, m.destination)
      const principals = pairPrincipals(pair.labels, m, source, server)
      const tcp = m.protocol === "TCP"
      const protocol = m.protocol === "HTTP" ? 0 : tcp ? 2 : 1
      const grpc = e?.kind === "http" ? e.grpcStatus : undefined
      const flagMask = e?.common.responseFlags ?? 0
      const policy = !server ? 0 : m.tlsMode === "mTLS" ? 1 : 2
      const key = tailKey(protocol, m.responseCode, grpc, policy)
      const last = server ? pair.server : pair.client
      let s = last.series
      if (
        s === undefined ||
        last.service !== svc ||
        last.principals !== principals ||
        last.reporter !== reporter ||
        last.flagMask !== flagMask ||
        last.tailKey !== key
      ) {
        const tail = tailPart(flagMask, key, protocol, m.responseCode, grpc, policy)
        s = lookup(pair.src, pair.dst, svc, principals, tail, reporter, tcp, nowMs)
        if (s === undefined) {
          counts.refused++
          continue
        }
        last.service = svc
        last.principals = principals
        last.reporter = reporter
        last.flagMask = flagMask
        last.tailKey = key
        last.series = s
      }
      s.lastUpdateMs = nowMs
      const v = s.values
      if (tcp) {
        v[TCP_SENT] += m.sentBytes
        v[TCP_RECEIVED] += m.receivedBytes
        // Envoy logs a TCP entry when the connection closes: one opened and one closed connection.
        v[TCP_OPENED]++
        v[TCP_CLOSED]++
      } else {
        v[HTTP_REQUESTS]++
        observe(v, HTTP_DURATION, m.latencyMs)
        // Sizes are headers + body, 0 when Envoy logged none: Istio's proxies observe every HTTP request.
        if (e?.kind === "http") {
          observe(v, HTTP_REQUEST_BYTES, e.requestBytes)
          observe(v, HTTP_RESPONSE_BYTES, e.responseBytes)
        }
      }
    }
    refusedTotal += counts.refused
    return counts
  }

  /** Drops series idle for longer than the setting; returns how many. */
  const evictIdle = (nowMs: number): number => {
    const before = nowMs - options.idleMs
    let evicted = 0
    for (const [key, s] of series) {
      if (s.lastUpdateMs < before) {
        series.delete(key)
        evicted++
      }
    }
    if (evicted > 0) {
      lastEvictionMs = nowMs
      // Every way to a series may now lead to an evicted one.
      trie = newTrie()
      trieNodes = 0
      pairs = new Map()
      podPairs = new WeakMap()
    }
    evictedTotal += evicted
    return evicted
  }

  return {
    record,
    evictIdle,
    series: (): Iterable<MeshSeries> => series.values(),
    size: () => series.size,
    refusedTotal: () => refusedTotal,
    lastEvictionMs: () => lastEvictionMs,
    evictedTotal: () => evictedTotal
  }
}

export type MeshSeriesRegistry = ReturnType<typeof makeMeshSeries>
