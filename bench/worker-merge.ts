// In-process: what one worker flush costs, per series, on each side of MESHSIGHT_WORKERS' IPC channel — the worker
// encoding its buckets (src/workers/series-codec.ts) and Node's "advanced" serialization (v8.serialize, as the
// cluster channel does), the primary deserializing, decoding and merging into the store. This is the primary's
// serial work per series flushed, which bounds how many workers one primary can take.
// Usage: node bench/worker-merge.ts [SERIES] (default 100000)
import { deserialize, serialize } from "node:v8"
import type { MinuteBucket } from "../src/domain/series.ts"
import { SeriesStats } from "../src/domain/series-stats.ts"
import { makeMemoryStore } from "../src/store/metric-store.ts"
import { decodeBucket, encodeBucket } from "../src/workers/series-codec.ts"

const SERIES = Number(process.argv[2] ?? "100000")
const MINUTE = 1_700_000_040_000

/** A flush's bucket: endpoint series of 200 services, each with a few calls, codes and latencies. */
const bucketOf = (): MinuteBucket => {
  const bucket: MinuteBucket = new Map()
  for (let i = 0; i < SERIES; i++) {
    const stats = new SeriesStats(false)
    for (let c = 0; c < 5; c++) {
      stats.record(
        {
          role: "sidecar",
          detectPoint: "server",
          source: undefined,
          destination: { service: `svc-${i % 200}`, namespace: "default", instance: "", layer: "MESH" },
          endpoint: `GET:/api/${i}`,
          endpointGrouped: false,
          startTimeMs: MINUTE,
          endTimeMs: MINUTE + 10,
          latencyMs: (i * 7 + c * 13) % 400,
          responseCode: c === 4 ? 503 : 200,
          success: c !== 4,
          protocol: "HTTP",
          tlsMode: "mTLS",
          internalErrorCode: c === 4 ? "UF" : "",
          receivedBytes: 0,
          sentBytes: 0,
          sidecarInternalReqLatencyNs: undefined,
          sidecarInternalRespLatencyNs: undefined
        } as never,
        0
      )
    }
    bucket.set(`endpoint\u0000svc-${i % 200}\u0000GET:/api/${i}`, {
      entity: { scope: "endpoint", service: `svc-${i % 200}`, namespace: "default", endpoint: `GET:/api/${i}` },
      stats
    })
  }
  return bucket
}

const time = <A>(f: () => A): [A, number] => {
  const t = process.hrtime.bigint()
  const a = f()
  return [a, Number(process.hrtime.bigint() - t) / 1e6]
}

const store = makeMemoryStore(120, 10_000_000)
const best = {
  encodeMs: Infinity,
  serializeMs: Infinity,
  deserializeMs: Infinity,
  decodeMs: Infinity,
  mergeNewMs: Infinity,
  mergeExistingMs: Infinity,
  bytes: 0
}
for (let run = 0; run < 3; run++) {
  const bucket = bucketOf()
  const [encoded, encodeMs] = time(() => encodeBucket(MINUTE, bucket))
  const [bytes, serializeMs] = time(() => serialize({ type: "flush", buckets: [encoded] }))
  const [message, deserializeMs] = time(() => deserialize(bytes) as { buckets: [typeof encoded] })
  const [decoded, decodeMs] = time(() => decodeBucket(message.buckets[0]))
  // The first merge of a minute adds the series; later ones (other workers, later flushes) merge into them.
  const [, mergeMs] = time(() => store.merge(MINUTE + run * 60_000 * (run === 2 ? 0 : 1), decoded))
  best.encodeMs = Math.min(best.encodeMs, encodeMs)
  best.serializeMs = Math.min(best.serializeMs, serializeMs)
  best.deserializeMs = Math.min(best.deserializeMs, deserializeMs)
  best.decodeMs = Math.min(best.decodeMs, decodeMs)
  if (run === 2) best.mergeExistingMs = mergeMs
  else best.mergeNewMs = Math.min(best.mergeNewMs, mergeMs)
  best.bytes = bytes.length
}
const perSeries = (ms: number) => Math.round((ms * 1e6) / SERIES)
console.log(
  JSON.stringify({
    series: SERIES,
    bytesPerSeries: Math.round(best.bytes / SERIES),
    workerNsPerSeries: { encode: perSeries(best.encodeMs), serialize: perSeries(best.serializeMs) },
    primaryNsPerSeries: {
      deserialize: perSeries(best.deserializeMs),
      decode: perSeries(best.decodeMs),
      mergeNew: perSeries(best.mergeNewMs),
      mergeExisting: perSeries(best.mergeExistingMs)
    }
  })
)
