// In-process micro-bench of the hot path's stages on the bench workload, no gRPC, no Effect runtime: decode,
// identify (mx-mesh), analyze, aggregate, the Istio-standard export, each timed alone and all together. For guiding optimisation (relative
// numbers); `npm run bench` is the measurement of record.
// Usage: node bench/stages.ts [ROUNDS]
import { makeAggregator } from "../src/aggregation/aggregator.ts"
import { analyze } from "../src/analysis/analyze.ts"
import { makeEndpointNamer } from "../src/analysis/endpoint-names.ts"
import { NO_RULES } from "../src/analysis/endpoint-rules.ts"
import { DEFAULT_MX_INSTANCE_NAME_RULE, DEFAULT_MX_SERVICE_NAME_RULE } from "../src/identity/mx-mesh/mx-mesh-analyzer.ts"
import type { AlsMessage } from "../src/domain/access-log.ts"
import { emptySides, type EntrySides } from "../src/domain/identity.ts"
import type { MeshMetric } from "../src/domain/mesh-metric.ts"
import { parseNode } from "../src/domain/node.ts"
import { makeMeshSeries } from "../src/export/mesh-series.ts"
import { makeMemoryStore } from "../src/store/metric-store.ts"
import { makeChain } from "../src/identity/chain.ts"
import { makeMxMeshAnalyzer, mxNaming } from "../src/identity/mx-mesh/mx-mesh-analyzer.ts"
import { alsDecoder, decodeAlsMessage } from "../src/protocol/als-codec.ts"
import { StreamAccessLogsMessage } from "../sim/envoy-protos.ts"
import { ENTRIES_PER_MESSAGE, generate } from "./workload.ts"

// As the service decodes with its defaults: mx-mesh reads no addresses, and no error logs are kept.
const decodeAlsMessageForMetrics = alsDecoder({ logDetail: false, addresses: false, filterState: true })
const rounds = Number(process.argv[2] ?? 20)
const streams = generate({ seed: 1, startMs: Date.now(), messages: 600 })
const analyzer = makeMxMeshAnalyzer(mxNaming(DEFAULT_MX_SERVICE_NAME_RULE, DEFAULT_MX_INSTANCE_NAME_RULE), () => {})
const chain = makeChain([analyzer], [analyzer])
const perStream = streams.map((s) => {
  const first = decodeAlsMessage(s.messages[0])
  const node = parseNode(first.identifier!.node)
  return { node, resolver: chain.forStream(node), bytes: s.messages, decoded: s.messages.map(decodeAlsMessage) }
})
const messages = perStream.flatMap((s) => s.bytes)
const aggregator = makeAggregator({
  apdexThresholdMs: 500,
  apdexThresholdsMs: {},
  maxSeriesPerMinute: 500_000,
  maxEndpointsPerService: 3000,
  retentionStart: () => 0
})
const misses = { local: 0, source: 0, destination: 0 }
const names = makeEndpointNamer(NO_RULES)
const meshSeries = makeMeshSeries({ maxSeries: 100_000, idleMs: 600_000 })

const sidesOf = (m: AlsMessage) => {
  const sides: Array<EntrySides> = new Array(m.entries.length)
  for (let i = 0; i < sides.length; i++) sides[i] = emptySides()
  return sides
}
const identified = perStream.map((s) =>
  s.decoded.map((m) => {
    const sides = sidesOf(m)
    s.resolver.fill(m.entries, sides)
    return sides
  })
)
const records: Array<Array<MeshMetric>> = perStream.flatMap((s, i) =>
  s.decoded.map((m, j) => analyze(s.node, m.entries, identified[i][j], misses, names))
)

const time = (name: string, body: () => void) => {
  body() // warm-up
  body()
  let best = Infinity
  for (let r = 0; r < rounds; r++) {
    // CPU time, not wall time: on a shared machine the process also waits for a core.
    const started = process.cpuUsage()
    body()
    const used = process.cpuUsage(started)
    best = Math.min(best, (used.user + used.system) * 1000)
  }
  const entries = messages.length * ENTRIES_PER_MESSAGE
  console.log(
    `${name.padEnd(22)} ${(best / entries).toFixed(0).padStart(6)} ns/entry  ${Math.round((entries / best) * 1e6)
      .toString()
      .padStart(6)} k entries/s`
  )
}

console.log(
  `${messages.length} messages, ${(messages.reduce((n, m) => n + m.length, 0) / messages.length / 1024).toFixed(1)} KiB each on average; best of ${rounds}, CPU time`
)
time("protobufjs decode", () => {
  for (const m of messages) StreamAccessLogsMessage.decode(m)
})
time("decode", () => {
  for (const m of messages) decodeAlsMessage(m)
})
time("decode for metrics", () => {
  for (const m of messages) decodeAlsMessageForMetrics(m)
})
time("identify", () => perStream.forEach((s) => s.decoded.forEach((m) => s.resolver.fill(m.entries, sidesOf(m)))))
time("analyze", () => perStream.forEach((s, i) => s.decoded.forEach((m, j) => analyze(s.node, m.entries, identified[i][j], misses, names))))
time("aggregate", () => {
  for (const r of records) aggregator.record(r, Date.now())
  aggregator.drain(0)
})
const store = makeMemoryStore(120, 500_000)
time("aggregate + store", () => {
  for (const r of records) aggregator.record(r, Date.now())
  for (const [minute, bucket] of aggregator.drain(0).buckets) store.merge(minute, bucket)
  store.prune(Date.now())
})
time("istio export", () => {
  for (const r of records) meshSeries.record(r, Date.now())
})
time("all stages", () => {
  for (const s of perStream) {
    for (const bytes of s.bytes) {
      const m = decodeAlsMessageForMetrics(bytes)
      const sides = sidesOf(m)
      s.resolver.fill(m.entries, sides)
      const metrics = analyze(s.node, m.entries, sides, misses, names)
      aggregator.record(metrics, Date.now())
      meshSeries.record(metrics, Date.now())
    }
  }
  aggregator.drain(0)
})
