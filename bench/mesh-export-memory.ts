// The Istio-standard export in-process (`node --expose-gc bench/mesh-export-memory.ts [labelSets]`): heap per label
// set held, the CPU time to render a /metrics/mesh scrape of ~100 k Prometheus series, to encode the same series
// for remote write, and to record a batch of records. Prints JSON.
import type { HttpAccessLog } from "../src/domain/access-log.ts"
import type { WorkloadIdentity } from "../src/domain/identity.ts"
import type { MeshMetric } from "../src/domain/mesh-metric.ts"
import { renderExposition } from "../src/export/exposition.ts"
import { makeMeshSeries } from "../src/export/mesh-series.ts"
import { snapshotBatches } from "../src/export/remote-write.ts"

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error("run with node --expose-gc")

/** Prometheus series per HTTP label set: a counter and three histograms of 19 buckets, +Inf, sum and count. */
const SERIES_PER_LABEL_SET = 1 + 3 * 22

const identity = (i: number): WorkloadIdentity => ({
  service: `svc-${i}.ns-${i % 20}`,
  instance: `svc-${i}-7f9c8d5b4-x${i}`,
  namespace: `ns-${i % 20}`,
  labels: {
    app: `svc-${i}`,
    version: `v${i % 3}`,
    "service.istio.io/canonical-name": `svc-${i}`,
    "service.istio.io/canonical-revision": `v${i % 3}`
  },
  workload: `svc-${i}-v${i % 3}`,
  cluster: "Kubernetes"
})

const entry = (dst: number): HttpAccessLog => ({
  kind: "http",
  common: {
    downstreamRemoteAddress: undefined,
    downstreamLocalAddress: undefined,
    downstreamDirectRemoteAddress: undefined,
    upstreamRemoteAddress: undefined,
    upstreamLocalAddress: undefined,
    upstreamCluster: `outbound|9080||svc-${dst}.ns-${dst % 20}.svc.cluster.local`,
    startTimeMs: 0,
    timeToLastRxByteNs: undefined,
    timeToFirstUpstreamTxByteNs: undefined,
    timeToLastUpstreamTxByteNs: undefined,
    timeToFirstUpstreamRxByteNs: undefined,
    timeToLastUpstreamRxByteNs: undefined,
    timeToFirstDownstreamTxByteNs: undefined,
    timeToLastDownstreamTxByteNs: undefined,
    responseFlags: 0,
    tls: undefined,
    filterState: []
  },
  protocolVersion: "HTTP/1.1",
  method: "GET",
  scheme: "http",
  authority: "",
  path: "/",
  hasRequest: true,
  responseCode: 200,
  responseCodeDetails: "",
  grpcStatus: undefined,
  userAgent: "",
  requestId: "",
  traceId: "",
  requestBytes: 300,
  responseBytes: 1700
})

/** `labelSets` client-side records, each a label set of its own (callers × callees × codes). */
const records = (labelSets: number): Array<MeshMetric> => {
  const ids = Array.from({ length: 200 }, (_, i) => identity(i))
  const entries = ids.map((_, i) => entry(i))
  const codes = [200, 201, 204, 301, 304, 400, 401, 403, 404, 429, 500, 502, 503, 504]
  const out: Array<MeshMetric> = []
  for (let n = 0; out.length < labelSets; n++) {
    const src = n % 200
    const dst = Math.floor(n / 200) % 200
    const code = codes[Math.floor(n / 40_000) % codes.length]
    out.push({
      role: "sidecar",
      detectPoint: "client",
      source: ids[src],
      destination: ids[dst],
      endpoint: "GET:/",
      startTimeMs: 0,
      endTimeMs: 0,
      latencyMs: 1 + (n % 700),
      responseCode: code,
      success: code < 400,
      protocol: "HTTP",
      tlsMode: "NONE",
      internalErrorCode: "",
      receivedBytes: 0,
      sentBytes: 0,
      sidecarInternalReqLatencyNs: undefined,
      sidecarInternalRespLatencyNs: undefined,
      endpointGrouped: false,
      entry: entries[dst]
    })
  }
  return out
}

const labelSets = Number(process.argv[2] ?? 20_000)
const batch = records(labelSets)
/** CPU milliseconds (user + system) of `f`: on a shared machine, wall time also counts the neighbours. */
const timed = <A>(f: () => A): [A, number] => {
  const t = process.cpuUsage()
  const a = f()
  const d = process.cpuUsage(t)
  return [a, (d.user + d.system) / 1000]
}

gc()
const heapBefore = process.memoryUsage().heapUsed
const registry = makeMeshSeries({ maxSeries: 10_000_000, idleMs: 600_000, extraPairs: [["meshsight_replica", "bench"]] })
const [, firstRecordMs] = timed(() => registry.record(batch, 0))
gc()
const heapAfter = process.memoryUsage().heapUsed
// Recording into existing series: what every ALS message costs once the label sets exist.
const [, againMs] = timed(() => registry.record(batch, 1))

// A scrape of ~100 k Prometheus series: the first label sets up to that many series.
const scrapeSets = Math.ceil(100_000 / SERIES_PER_LABEL_SET)
const small = makeMeshSeries({ maxSeries: 10_000_000, idleMs: 600_000 })
small.record(batch.slice(0, scrapeSets), 0)
renderExposition(small.series(), false) // warm-up
const [text, scrapeMs] = timed(() => renderExposition(small.series(), false))
const [om, scrapeOpenMetricsMs] = timed(() => renderExposition(small.series(), true))
snapshotBatches(small.series(), 0, 15_000) // warm-up (and the first-time zero samples)
const [batches, remoteWriteEncodeMs] = timed(() => snapshotBatches(small.series(), 15_000, 15_000))

console.log(
  JSON.stringify(
    {
      labelSets: registry.size(),
      prometheusSeries: registry.size() * SERIES_PER_LABEL_SET,
      heapBytesPerLabelSet: Math.round((heapAfter - heapBefore) / registry.size()),
      heapBytesPerPrometheusSeries: Math.round((heapAfter - heapBefore) / registry.size() / SERIES_PER_LABEL_SET),
      recordNsPerRecordNewSeries: Math.round((firstRecordMs * 1e6) / batch.length),
      recordNsPerRecordExistingSeries: Math.round((againMs * 1e6) / batch.length),
      scrape: {
        prometheusSeries: small.size() * SERIES_PER_LABEL_SET,
        textMs: Math.round(scrapeMs),
        textMiB: +(text.length / 2 ** 20).toFixed(1),
        openMetricsMs: Math.round(scrapeOpenMetricsMs),
        openMetricsMiB: +(om.length / 2 ** 20).toFixed(1)
      },
      remoteWrite: {
        samples: batches.reduce((n, b) => n + b.samples, 0),
        requests: batches.length,
        encodeAndCompressMs: Math.round(remoteWriteEncodeMs),
        compressedMiB: +(batches.reduce((n, b) => n + b.body.length, 0) / 2 ** 20).toFixed(2)
      }
    },
    null,
    2
  )
)
