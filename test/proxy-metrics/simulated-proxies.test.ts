// Simulated proxies through the MetricsService pipeline in virtual time (TestClock for the minutes): per-minute
// increases stay non-negative across a proxy restart, gauges keep the minute's last value and max, old minutes
// leave with the retention window, and the instance and cluster limits refuse what does not fit.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { layerFromVariables, type Variables } from "../../src/config.ts"
import { MetricsStreamHandler } from "../../src/ingest/stream-handler.ts"
import { MetricsPipelineLive } from "../../src/pipeline/metrics-pipeline.ts"
import { ProxyMetricStore, ProxyMetricStoreLive } from "../../src/proxy-metrics/proxy-metric-store.ts"
import { proxyInstance, proxyRelation } from "../../src/query/proxy-query.ts"
import { counterFamily, encodeMetricsMessage, gaugeFamily, makeProxyStats } from "../../sim/proxy-stats.ts"
import { seededRandom } from "../../sim/random.ts"
import { bookinfo, type SimPod } from "../../sim/topology.ts"
import { MemoryBudgetLive } from "../../src/memory/budget.ts"
import { messagesAfter } from "../support/message-sources.ts"

const T0 = Date.UTC(2026, 10, 30, 10, 0, 0)
const MIN = 60_000

const layer = (config: Variables = {}) =>
  MetricsPipelineLive.pipe(
    Layer.provideMerge(ProxyMetricStoreLive),
    Layer.provide(MemoryBudgetLive),
    Layer.provide(layerFromVariables(config))
  )

/** One stream of a proxy's flushes, `everyMs` apart in virtual time; the identifier on the first. */
const stream = (pod: SimPod, flushes: ReadonlyArray<ReadonlyArray<Record<string, unknown>>>, everyMs: number) =>
  messagesAfter(
    flushes.map((families, i) =>
      Effect.as(TestClock.adjust(everyMs), encodeMetricsMessage(families, i === 0 ? { workload: pod } : undefined))
    )
  )

const series = (metrics: ReadonlyArray<{ name: string; series: ReadonlyArray<{ time: number; value: number }> }>, name: string) =>
  metrics.find((m) => m.name === name)!.series

const range = { start: T0 - 60 * MIN, end: T0 + 60 * MIN }

/** Two sidecars of the simulated mesh, named `productpage.default` and `details.default` by mx-mesh. */
const [productpage, details] = ["productpage", "details"].map((s) => bookinfo({ instances: 1 }).pods.find((p) => p.service === s)!)

describe("simulated proxies in virtual time", () => {
  it.effect("per-minute increases are never negative across a proxy restart", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const topology = bookinfo({ instances: 1 })
      const stats = makeProxyStats(topology, seededRandom(3), 0.2)
      const pod = topology.pods.find((p) => p.service === "productpage")!
      const pipeline = yield* MetricsStreamHandler
      const store = yield* ProxyMetricStore
      // Ten minutes of 5 s flushes; the proxy restarts after four (a new stream, its counters from 0 again).
      const flushesOver = (minutes: number, from: number) =>
        Array.from({ length: (minutes * MIN) / 5000 }, (_, i) => stats.flush(pod, from + i * 5000))
      yield* pipeline.run(stream(pod, flushesOver(4, T0), 5000), "test")
      stats.restart(pod)
      yield* pipeline.run(stream(pod, flushesOver(6, T0 + 4 * MIN), 5000), "test")

      const view = proxyInstance(store, "productpage.default", pod.name, range)!
      const reviews = view.clusters.find((c) => c.clusterName === "reviews.default")!
      for (const name of [
        "envoy_cluster_up_rq_incr",
        "envoy_cluster_up_cx_incr",
        "envoy_cluster_lb_healthy_panic_incr",
        "envoy_cluster_up_cx_none_healthy_incr"
      ]) {
        const points = series(reviews.metrics, name)
        expect(points.length, name).toBeGreaterThanOrEqual(10)
        for (const p of points) expect(p.value, `${name} at ${new Date(p.time).toISOString()}`).toBeGreaterThanOrEqual(0)
      }
      // Requests keep flowing in every minute, the restart's minute included.
      for (const p of series(reviews.metrics, "envoy_cluster_up_rq_incr")) expect(p.value).toBeGreaterThan(0)
      // The relation sums the one productpage proxy: the same increases.
      const relation = proxyRelation(store, "productpage.default", "reviews.default", range)!
      expect(series(relation.metrics, "envoy_sr_cluster_up_rq_incr")).toStrictEqual(series(reviews.metrics, "envoy_cluster_up_rq_incr"))
    }).pipe(Effect.provide(layer()))
  )

  it.effect("a counter that drops is a restart: the increase is its new value, never the difference", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const pod = productpage
      const total = (v: number) => [counterFamily("cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_total", v, 0)]
      yield* (yield* MetricsStreamHandler).run(stream(pod, [total(100), total(130), total(7), total(10)], MIN), "test")
      const view = proxyInstance(yield* ProxyMetricStore, `${pod.service}.default`, pod.name, range)!
      // First sight: no baseline (0); +30; restart → 7; +3.
      expect(series(view.clusters[0].metrics, "envoy_cluster_up_rq_incr").map((p) => p.value)).toStrictEqual([0, 30, 7, 3])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("gauges keep the minute's last value and max; families of one cluster are summed; kube-system is left out of membership", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const pod = productpage
      const flush = (heap: number, v1: number, v2: number) => [
        gaugeFamily("server.memory_heap_size", heap, 0),
        gaugeFamily("cluster.outbound|9080|v1|reviews.default.svc.cluster.local.upstream_rq_active", v1, 0),
        gaugeFamily("cluster.outbound|9080|v2|reviews.default.svc.cluster.local.upstream_rq_active", v2, 0),
        gaugeFamily("cluster.outbound|53||kube-dns.kube-system.svc.cluster.local.membership_healthy", 2, 0),
        gaugeFamily("cluster.outbound|53||kube-dns.kube-system.svc.cluster.local.upstream_cx_active", 1, 0)
      ]
      yield* (yield* MetricsStreamHandler).run(stream(pod, [flush(300, 1, 2), flush(500, 4, 0), flush(200, 1, 1)], 10_000), "test")
      const view = proxyInstance(yield* ProxyMetricStore, `${pod.service}.default`, pod.name, range)!
      const latest = (metrics: typeof view.metrics, name: string) => metrics.find((m) => m.name === name)!.latest
      expect(latest(view.metrics, "envoy_heap_memory_used")).toBe(200)
      expect(latest(view.metrics, "envoy_heap_memory_max_used")).toBe(500)
      const [dns, reviews] = view.clusters
      expect(reviews.clusterName).toBe("reviews.default")
      expect(latest(reviews.metrics, "envoy_cluster_up_rq_active")).toBe(2)
      expect(dns.clusterName).toBe("kube-dns.kube-system")
      expect(latest(dns.metrics, "envoy_cluster_membership_healthy")).toBe(null)
      expect(latest(dns.metrics, "envoy_cluster_up_cx_active")).toBe(1)
    }).pipe(Effect.provide(layer()))
  )

  it.effect("minutes past the retention window leave, and an instance with none left goes", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const [a, b] = [productpage, details]
      const pipeline = yield* MetricsStreamHandler
      const store = yield* ProxyMetricStore
      const heap = [gaugeFamily("server.memory_heap_size", 1, 0)]
      yield* pipeline.run(stream(a, [heap, heap, heap], MIN), "test")
      expect(store.instance(`${a.service}.default`, a.name)!.minutes.size).toBe(3)
      yield* TestClock.adjust(4 * MIN)
      yield* pipeline.run(stream(b, [heap], MIN), "test")
      expect(store.instance(`${a.service}.default`, a.name)).toBe(undefined)
      expect(store.instanceCount()).toBe(1)
    }).pipe(Effect.provide(layer({ MESHSIGHT_RETENTION_MINUTES: "3" })))
  )

  it.effect("instances and (instance, cluster) pairs past their limits are refused", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const [a, b] = [productpage, details]
      const pipeline = yield* MetricsStreamHandler
      const store = yield* ProxyMetricStore
      const clusters = ["reviews", "ratings", "details"].map((s) =>
        gaugeFamily(`cluster.outbound|9080||${s}.default.svc.cluster.local.upstream_cx_active`, 1, 0)
      )
      yield* pipeline.run(stream(a, [clusters], MIN), "test")
      yield* pipeline.run(stream(b, [clusters], MIN), "test")
      expect(store.instanceCount()).toBe(1)
      const view = proxyInstance(store, `${a.service}.default`, a.name, range)!
      expect(view.clusters.map((c) => c.clusterName)).toStrictEqual(["ratings.default", "reviews.default"])
    }).pipe(Effect.provide(layer({ MESHSIGHT_PROXY_MAX_INSTANCES: "1", MESHSIGHT_PROXY_MAX_CLUSTER_PAIRS: "2" })))
  )
})
