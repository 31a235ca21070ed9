// A worker's flushed minute buckets as a compact message for the primary (MESHSIGHT_WORKERS > 1): per bucket, the
// keys and entities, the fixed counts of every series in one Float64Array, and the variable parts (latency buckets,
// status codes, response flags) as flat arrays. Sent over the cluster IPC channel with Node's "advanced" (structured
// clone) serialization, which copies a typed array as its bytes. Built only from SeriesStats' public surface.
import type { Entity, MinuteBucket } from "../domain/series.ts"
import { SeriesStats } from "../domain/series-stats.ts"

/** Numbers per series in `EncodedBucket.fixed`, in this order. */
const FIXED = 14
const NONE = -1

export interface EncodedBucket {
  readonly minute: number
  readonly keys: ReadonlyArray<string>
  readonly entities: ReadonlyArray<Entity>
  /** FIXED numbers per series: calls, successes, latencySumMs, httpCalls, grpcCalls, sidecar req ns/count, resp
   * ns/count, apdex satisfied/tolerating (-1: no apdex), TCP connections/received/sent (-1: no TCP counts). */
  readonly fixed: Float64Array
  /** Per series: n latency buckets, then n × [bucket, count]; m status codes, then m × [code, count]. */
  readonly variable: ReadonlyArray<number>
  /** Per series with response flags: its index, its flag count, then [flag, count] pairs. */
  readonly flags: ReadonlyArray<string | number>
}

const encodeStats = (s: SeriesStats, fixed: Float64Array, at: number, variable: Array<number>) => {
  fixed[at] = s.calls
  fixed[at + 1] = s.successes
  fixed[at + 2] = s.latencySumMs
  fixed[at + 3] = s.httpCalls
  fixed[at + 4] = s.grpcCalls
  fixed[at + 5] = s.sidecarReqNsSum
  fixed[at + 6] = s.sidecarReqCount
  fixed[at + 7] = s.sidecarRespNsSum
  fixed[at + 8] = s.sidecarRespCount
  fixed[at + 9] = s.apdex?.[0] ?? NONE
  fixed[at + 10] = s.apdex?.[1] ?? NONE
  fixed[at + 11] = s.tcp?.connections ?? NONE
  fixed[at + 12] = s.tcp?.receivedBytes ?? NONE
  fixed[at + 13] = s.tcp?.sentBytes ?? NONE
  const latency = s.latency.counts
  variable.push(latency.size)
  for (const [bucket, n] of latency) variable.push(bucket, n)
  const codes = Object.entries(s.statusCodeCounts())
  variable.push(codes.length)
  for (const [code, n] of codes) variable.push(Number(code), n)
}

export const encodeBucket = (minute: number, bucket: MinuteBucket): EncodedBucket => {
  const keys: Array<string> = []
  const entities: Array<Entity> = []
  const fixed = new Float64Array(FIXED * bucket.size)
  const variable: Array<number> = []
  const flags: Array<string | number> = []
  let i = 0
  for (const [key, { entity, stats }] of bucket) {
    keys.push(key)
    entities.push(entity)
    encodeStats(stats, fixed, i * FIXED, variable)
    if (stats.responseFlags !== undefined && stats.responseFlags.size > 0) {
      flags.push(i, stats.responseFlags.size)
      for (const [flag, n] of stats.responseFlags) flags.push(flag, n)
    }
    i++
  }
  return { minute, keys, entities, fixed, variable, flags }
}

/** The bucket again, each series a new SeriesStats equal in every count to the one encoded. */
export const decodeBucket = (encoded: EncodedBucket): MinuteBucket => {
  const { keys, entities, fixed, variable, flags } = encoded
  const out: MinuteBucket = new Map()
  const all: Array<SeriesStats> = new Array(keys.length)
  let v = 0
  for (let i = 0; i < keys.length; i++) {
    const at = i * FIXED
    const s = new SeriesStats(fixed[at + 9] !== NONE)
    s.calls = fixed[at]
    s.successes = fixed[at + 1]
    s.latencySumMs = fixed[at + 2]
    s.httpCalls = fixed[at + 3]
    s.grpcCalls = fixed[at + 4]
    s.sidecarReqNsSum = fixed[at + 5]
    s.sidecarReqCount = fixed[at + 6]
    s.sidecarRespNsSum = fixed[at + 7]
    s.sidecarRespCount = fixed[at + 8]
    if (s.apdex !== undefined) {
      s.apdex[0] = fixed[at + 9]
      s.apdex[1] = fixed[at + 10]
    }
    if (fixed[at + 11] !== NONE) s.addTcp(fixed[at + 11], fixed[at + 12], fixed[at + 13])
    const buckets = variable[v++]
    // The lowest and highest first, so the histogram widens once.
    if (buckets > 0) {
      s.latency.add(variable[v], 0)
      s.latency.add(variable[v + 2 * (buckets - 1)], 0)
    }
    for (let b = 0; b < buckets; b++, v += 2) s.latency.add(variable[v], variable[v + 1])
    const codes = variable[v++]
    for (let c = 0; c < codes; c++, v += 2) s.addCode(variable[v], variable[v + 1])
    all[i] = s
    out.set(keys[i], { entity: entities[i], stats: s })
  }
  for (let f = 0; f < flags.length; ) {
    const s = all[flags[f] as number]
    const n = flags[f + 1] as number
    const map = (s.responseFlags = new Map())
    for (let j = 0; j < n; j++) map.set(flags[f + 2 + 2 * j] as string, flags[f + 3 + 2 * j] as number)
    f += 2 + 2 * n
  }
  return out
}
