// Heap held for one minute of 10 000 server-side calls to one service, each to a distinct path (ids in the path),
// after GC: without a cap, with the default per-service cap (3000 + "(other)"), and with a grouping rule that
// folds the ids. Each case names the endpoints (analyze) and aggregates them into the store, as the pipeline does.
// Usage: node bench/endpoint-memory.ts [CALLS]
import { runInNewContext } from "node:vm"
import { setFlagsFromString } from "node:v8"
import { makeAggregator } from "../src/aggregation/aggregator.ts"
import { analyze } from "../src/analysis/analyze.ts"
import { makeEndpointNamer } from "../src/analysis/endpoint-names.ts"
import { NO_RULES, parseGroupingRules } from "../src/analysis/endpoint-rules.ts"
import type { AlsMessage } from "../src/domain/access-log.ts"
import type { EntrySides, WorkloadIdentity } from "../src/domain/identity.ts"
import { parseNode } from "../src/domain/node.ts"
import { makeMemoryStore } from "../src/store/metric-store.ts"
import { decodeAlsMessage } from "../src/protocol/als-codec.ts"
import { encodeAlsMessageJson } from "../sim/envoy-protos.ts"
import { alsMessageJson, inboundHttpEntry, type Workload } from "../sim/istio-entries.ts"

const calls = Number(process.argv[2] ?? 10_000)
const pod = (app: string, ip: string): Workload => ({ name: `${app}-0`, namespace: "default", ip, labels: { app }, workloadName: app })
const client = pod("productpage", "10.0.0.1")
const server = pod("reviews", "10.0.0.2")
const startMs = Date.now()
const message: AlsMessage = decodeAlsMessage(
  encodeAlsMessageJson(
    alsMessageJson(
      {
        http: Array.from({ length: calls }, (_, n) =>
          inboundHttpEntry({ startMs, durationMs: 10, path: `/items/${n}` }, { client, server, port: 9080, host: "reviews" })
        )
      },
      { workload: server, role: "sidecar" }
    )
  )
)
const node = parseNode(message.identifier!.node)
const identity = (service: string): WorkloadIdentity => ({ service, instance: `${service}-0`, namespace: "default", labels: {} })
// One identity object per workload, as the analyzers hand out (the aggregator memoises series keys per object).
const reviews = identity("reviews.default")
const productpage = identity("productpage.default")
const sides: Array<EntrySides> = message.entries.map(() => ({ local: reviews, downstream: productpage, upstream: undefined }))

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void
const heapUsed = () => {
  for (let i = 0; i < 4; i++) gc()
  return process.memoryUsage().heapUsed
}

/** What one case's namer, aggregator and store hold: the heap with them, less the heap once they are dropped. */
const measure = (label: string, maxEndpointsPerService: number, rules = NO_RULES) => {
  let store: ReturnType<typeof makeMemoryStore> | undefined = makeMemoryStore(120, 500_000)
  let aggregator: ReturnType<typeof makeAggregator> | undefined = makeAggregator({
    apdexThresholdMs: 500,
    apdexThresholdsMs: {},
    maxSeriesPerMinute: 500_000,
    maxEndpointsPerService,
    retentionStart: store.retentionStart
  })
  let names: ReturnType<typeof makeEndpointNamer> | undefined = makeEndpointNamer(rules)
  aggregator.record(analyze(node, message.entries, sides, { local: 0, source: 0, destination: 0 }, names), Date.now())
  for (const [minute, bucket] of aggregator.drain(store.retentionStart(Date.now())).buckets) store.merge(minute, bucket)
  const series = store.seriesCount()
  const held = heapUsed()
  store = aggregator = names = undefined
  const released = heapUsed()
  console.log(
    `${label.padEnd(30)} ${String(series).padStart(6)} series  ${((held - released) / 1024 / 1024).toFixed(2).padStart(6)} MiB heap (after GC)`
  )
}

console.log(`${calls} calls to reviews.default, each to a distinct /items/<n>; node ${process.version}`)
measure("no cap", 100_000_000)
measure("default cap (3000 + (other))", 3000)
measure(
  "grouping rule /items/{id}",
  3000,
  parseGroupingRules("inline", "grouping:\n  - service-name: reviews.default\n    rules:\n      - /items/{id}\n")
)
