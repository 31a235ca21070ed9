// The proxies' envoy_* gauges in the export (`node bench/proxy-gauges.ts [instancesPerDeployment]`): simulated
// bookinfo proxies fill two minutes of the MetricsService store, then the CPU time to make the gauges from the
// store, render them for a /metrics/mesh scrape and encode them for remote write. Three runs; prints one line each.
import { renderExposition } from "../src/export/exposition.ts"
import { proxyGauges } from "../src/export/proxy-series.ts"
import { snapshotBatches } from "../src/export/remote-write.ts"
import {
  DEFAULT_MX_INSTANCE_NAME_RULE,
  DEFAULT_MX_SERVICE_NAME_RULE,
  identityFromMetadata,
  mxNaming
} from "../src/identity/mx-mesh/mx-mesh-analyzer.ts"
import { decodeMetricsMessage } from "../src/protocol/metrics-codec.ts"
import { makeClusterNamer } from "../src/proxy-metrics/cluster-name.ts"
import { makeProxyMetricStore } from "../src/proxy-metrics/proxy-metric-store.ts"
import { encodeMetricsMessage, makeProxyStats } from "../sim/proxy-stats.ts"
import { seededRandom } from "../sim/random.ts"
import { bookinfo } from "../sim/topology.ts"

const naming = mxNaming(DEFAULT_MX_SERVICE_NAME_RULE, DEFAULT_MX_INSTANCE_NAME_RULE)
const store = makeProxyMetricStore({ retentionMinutes: 120, maxInstances: 1e6, maxClusterPairs: 1e8 }, makeClusterNamer(naming))
const topology = bookinfo({ instances: Number(process.argv[2] ?? 250) })
const stats = makeProxyStats(topology, seededRandom(1), 0)
const T0 = Date.UTC(2026, 10, 30, 12, 0, 0)
for (const t of [T0 + 1_000, T0 + 61_000]) {
  for (const pod of topology.pods) {
    const message = decodeMetricsMessage(encodeMetricsMessage(stats.flush(pod, t), { workload: pod }))
    store.record(identityFromMetadata(message.identifier!.node.metadata, naming)!, message.families, t)
  }
}

const timed = <A>(f: () => A): [A, number] => {
  const start = process.cpuUsage()
  const a = f()
  const used = process.cpuUsage(start)
  return [a, (used.user + used.system) / 1000]
}
for (let run = 0; run < 3; run++) {
  const [gauges, makeMs] = timed(() => proxyGauges(store, T0 + 70_000, 600_000, [["meshsight_replica", "bench"]]))
  const [text, renderMs] = timed(() => renderExposition([], false, proxyGauges(store, T0 + 70_000, 600_000)))
  const [batches, encodeMs] = timed(() => snapshotBatches([], T0 + 70_000, 15_000, undefined, gauges))
  const samples = gauges.reduce((n, g) => n + g.samples.length, 0)
  console.log(
    `${topology.pods.length} proxies, ${samples} samples: gauges ${makeMs.toFixed(0)} ms, scrape text (gauges included) ${renderMs.toFixed(0)} ms ` +
      `(${(text.length / 2 ** 20).toFixed(1)} MiB), remote-write encode ${encodeMs.toFixed(0)} ms (${batches.length} requests)`
  )
}
