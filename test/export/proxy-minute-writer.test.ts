// The meshsight_proxy_minute_* series of storage mode prometheus: what the writer sends for the proxy store's
// minutes in [from, before) — labels sorted, stamped inside their minute, every value the store holds and nothing
// else, counters' increases apart from gauges. (Read back through real TSDBs: test/scale-out/proxy-views.test.ts.)
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { layerFromVariables } from "../../src/config.ts"
import { proxyMinuteBatches } from "../../src/export/proxy-minute-writer.ts"
import { MetricsStreamHandler } from "../../src/ingest/stream-handler.ts"
import { MemoryBudgetLive } from "../../src/memory/budget.ts"
import { MetricsPipelineLive } from "../../src/pipeline/metrics-pipeline.ts"
import { ProxyMetricStore, ProxyMetricStoreLive } from "../../src/proxy-metrics/proxy-metric-store.ts"
import { counterFamily, encodeMetricsMessage, gaugeFamily } from "../../sim/proxy-stats.ts"
import { bookinfo } from "../../sim/topology.ts"
import { decodeWriteRequest } from "../support/write-request.ts"
import { messagesAfter } from "../support/message-sources.ts"

const T0 = Date.UTC(2026, 10, 30, 10, 0, 0)
const MIN = 60_000
const pod = bookinfo({ instances: 1 }).pods.find((p) => p.service === "productpage")!

const layer = MetricsPipelineLive.pipe(
  Layer.provideMerge(ProxyMetricStoreLive),
  Layer.provide(MemoryBudgetLive),
  Layer.provide(layerFromVariables({}))
)

const flush = (heap: number, requests: number, healthy: number) => [
  gaugeFamily("server.memory_heap_size", heap, 0),
  gaugeFamily("cluster.outbound|9080||reviews.default.svc.cluster.local.membership_healthy", healthy, 0),
  counterFamily("cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_total", requests, 0),
  gaugeFamily("cluster.inbound|9080||.upstream_cx_active", 3, 0)
]

describe("the proxies' minutes for remote write", () => {
  it.effect("each minute in [from, before): sorted labels, stamped inside it, exactly the store's values", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0 + 10_000)
      // Minutes T0, T0+1, T0+2: two flushes each, 20 s apart.
      const messages = [
        flush(300, 100, 2),
        flush(500, 130, 2),
        flush(280, 150, 0),
        flush(250, 190, 1),
        flush(260, 200, 1),
        flush(270, 260, 1)
      ]
      yield* (yield* MetricsStreamHandler).run(
        messagesAfter(
          messages.map((f, i) =>
            Effect.as(
              TestClock.adjust(i === 0 ? 0 : i % 2 === 1 ? 20_000 : 40_000),
              encodeMetricsMessage(f, i === 0 ? { workload: pod } : undefined)
            )
          )
        ),
        "test"
      )
      const store = yield* ProxyMetricStore
      const state = store.instance("productpage.default", pod.name)!
      expect([...state.minutes.keys()]).toStrictEqual([T0, T0 + MIN, T0 + 2 * MIN])

      const series = proxyMinuteBatches(store.allInstances(), T0 + MIN, T0 + 3 * MIN, "r1", (m) => m + 30_000).flatMap((b) =>
        decodeWriteRequest(b.body)
      )
      for (const s of series) expect(s.labelOrder).toStrictEqual([...s.labelOrder].sort())
      // The minute before `from` is not written; each written one is stamped 30 s in (the timeOf given).
      expect(new Set(series.map((s) => s.samples[0][1]))).toStrictEqual(new Set([T0 + MIN + 30_000, T0 + 2 * MIN + 30_000]))
      const at = (minute: number) => (s: (typeof series)[number]) => s.samples[0][1] === minute + 30_000
      const second = series.filter(at(T0 + MIN)).map((s) => ({ ...s.labels, value: s.samples[0][0] }))
      const own = { service: "productpage.default", instance: pod.name, meshsight_replica: "r1" }
      const reviews = { ...own, cluster_name: "reviews.default", direction: "outbound" }
      expect(second).toStrictEqual([
        { __name__: "meshsight_proxy_minute_last_seen_ms", ...own, value: T0 + MIN + 30_000 },
        { __name__: "meshsight_proxy_minute_server", ...own, stat: "server.memory_heap_size", pick: "last", value: 250 },
        { __name__: "meshsight_proxy_minute_server", ...own, stat: "server.memory_heap_size", pick: "max", value: 280 },
        { __name__: "meshsight_proxy_minute_cluster", ...reviews, stat: "membership_healthy", value: 1 },
        // 130 (the minute before's last) → 150 → 190.
        { __name__: "meshsight_proxy_minute_cluster_increase", ...reviews, stat: "upstream_rq_total", value: 60 },
        {
          __name__: "meshsight_proxy_minute_cluster",
          ...own,
          cluster_name: "inbound:9080.-",
          direction: "inbound",
          stat: "upstream_cx_active",
          value: 3
        }
      ])
      // Every value the store holds for the minute, no more.
      const m = state.minutes.get(T0 + MIN)!
      const held =
        [...m.server].filter((v) => !Number.isNaN(v)).length +
        [...m.clusters.values()].flatMap((c) => [...c.values].filter((v) => !Number.isNaN(v))).length
      expect(second.length).toBe(1 + held)
    }).pipe(Effect.provide(layer))
  )
})
