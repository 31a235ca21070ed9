// Heap held for the bench's live-series workload (run.ts's `manySeries`: one minute of a 569-pod mesh, ~124 k
// series), in-process, after GC (V8's heap and ArrayBuffers): decode → identify → analyze → aggregate → store, as the pipeline does, then the
// store, the aggregator (its key memos) and the analyzer with the endpoint names dropped one after the other.
// Usage: node bench/series-memory.ts [MESSAGES]   (6000: the full bench's workload, the default; 1500: the quick one)
import { runInNewContext } from "node:vm"
import { setFlagsFromString } from "node:v8"
import { makeAggregator } from "../src/aggregation/aggregator.ts"
import { analyze } from "../src/analysis/analyze.ts"
import { makeEndpointNamer } from "../src/analysis/endpoint-names.ts"
import { NO_RULES } from "../src/analysis/endpoint-rules.ts"
import { emptySides, type EntrySides } from "../src/domain/identity.ts"
import { parseNode } from "../src/domain/node.ts"
import { makeChain } from "../src/identity/chain.ts"
import {
  DEFAULT_MX_INSTANCE_NAME_RULE,
  DEFAULT_MX_SERVICE_NAME_RULE,
  makeMxMeshAnalyzer,
  mxNaming
} from "../src/identity/mx-mesh/mx-mesh-analyzer.ts"
import { decodeAlsMessage } from "../src/protocol/als-codec.ts"
import { makeMemoryStore } from "../src/store/metric-store.ts"
import { generate } from "./workload.ts"

const messages = Number(process.argv[2] ?? 6_000)
const startMs = Date.now()
const streams = generate({ seed: 2, startMs, messages, topology: { instances: 10, extraServices: 50, ids: 2_500 } })

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void
/** V8's heap and the ArrayBuffers' memory outside it (typed arrays), after GC. */
const heapUsed = () => {
  for (let i = 0; i < 4; i++) gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}
const MiB = 1024 * 1024

interface Held {
  store?: ReturnType<typeof makeMemoryStore> | undefined
  aggregator?: ReturnType<typeof makeAggregator> | undefined
  identify?: { analyzer: ReturnType<typeof makeMxMeshAnalyzer>; names: ReturnType<typeof makeEndpointNamer> } | undefined
}

/** Runs the workload through the stages; in a function so that no interpreter register of it outlives the run. */
const ingest = (held: Held) => {
  const store = makeMemoryStore(120, 500_000)
  const aggregator = makeAggregator({
    apdexThresholdMs: 500,
    apdexThresholdsMs: {},
    maxSeriesPerMinute: 500_000,
    maxEndpointsPerService: 3000,
    retentionStart: () => 0
  })
  const analyzer = makeMxMeshAnalyzer(mxNaming(DEFAULT_MX_SERVICE_NAME_RULE, DEFAULT_MX_INSTANCE_NAME_RULE), () => {})
  const names = makeEndpointNamer(NO_RULES)
  const chain = makeChain([analyzer], [analyzer])
  const misses = { local: 0, source: 0, destination: 0 }
  let aggregateNs = 0n
  for (const s of streams) {
    const node = parseNode(decodeAlsMessage(s.messages[0]).identifier!.node)
    const resolver = chain.forStream(node)
    for (const bytes of s.messages) {
      const m = decodeAlsMessage(bytes)
      const sides: Array<EntrySides> = m.entries.map(() => emptySides())
      resolver.fill(m.entries, sides)
      const records = analyze(node, m.entries, sides, misses, names)
      const t = process.hrtime.bigint()
      aggregator.record(records, startMs)
      aggregateNs += process.hrtime.bigint() - t
    }
    // The pipeline flushes once a second: a few proxies' worth of series at a time.
    for (const [minute, bucket] of aggregator.drain(0).buckets) store.merge(minute, bucket)
    store.prune(startMs)
  }
  // Two more flush beats without traffic, as in the server at rest.
  store.prune(startMs)
  store.prune(startMs)
  Object.assign(held, { store, aggregator, identify: { analyzer, names } })
  return { series: store.seriesCount(), aggregateMs: Number(aggregateNs) / 1e6 }
}

const before = heapUsed()
const held: Held = {}
const { series, aggregateMs } = ingest(held)
const all = heapUsed()
held.store = undefined
const withoutStore = heapUsed()
held.aggregator = undefined
const withoutAggregator = heapUsed()
held.identify = undefined
const result = {
  series,
  storeBytesPerSeries: Math.round((all - withoutStore) / series),
  storeMiB: (all - withoutStore) / MiB,
  aggregatorMiB: (withoutStore - withoutAggregator) / MiB,
  identifyMiB: (withoutAggregator - heapUsed()) / MiB,
  heapBeforeMiB: before / MiB,
  aggregateMs
}
console.log(JSON.stringify(result))
console.error(
  `${series} series: store ${result.storeMiB.toFixed(1)} MiB (${result.storeBytesPerSeries} B a series), the aggregator's key memos ` +
    `${result.aggregatorMiB.toFixed(1)} MiB, analyzer and endpoint names ${result.identifyMiB.toFixed(1)} MiB; heap before ${result.heapBeforeMiB.toFixed(1)} MiB`
)
