// The query side over a store (src/query/): a range's figures (src/query/range-summary.ts), whose per-minute rates are
// means over the minutes that have data, so a range's cpm and TCP rates equal the mean of its per-minute series;
// ratios weigh every call of the range. And the instance-level topology.
import { describe, expect, it } from "@effect/vitest"
import { instanceKey, instanceRelationKey, serviceKey, serviceRelationKey } from "../../src/aggregation/entity.ts"
import { SeriesStats } from "../../src/domain/series-stats.ts"
import type { MeshMetric } from "../../src/domain/mesh-metric.ts"
import { Effect } from "effect"
import { makeQueryService, type QueryServiceShape } from "../../src/query/query-service.ts"
import type { MinuteBucket } from "../../src/domain/series.ts"
import { makeMemoryStore } from "../../src/store/metric-store.ts"
import { workload } from "../support/ip-table-analyzer.ts"
import { meshMetric } from "../support/mesh-metric.ts"

/** The queries run to completion synchronously: these stores are far below a query's slice, so nothing yields. */
const syncQueries = (q: QueryServiceShape) => ({
  services: (...a: Parameters<QueryServiceShape["services"]>) => Effect.runSync(q.services(...a)),
  topology: (...a: Parameters<QueryServiceShape["topology"]>) => Effect.runSync(q.topology(...a)),
  instanceTopology: (...a: Parameters<QueryServiceShape["instanceTopology"]>) => Effect.runSync(q.instanceTopology(...a)),
  series: (...a: Parameters<QueryServiceShape["series"]>) => Effect.runSync(q.series(...a))
})

const T0 = Date.UTC(2026, 10, 25, 10, 0, 0)
const MIN = 60_000
const RANGE = { start: T0, end: T0 + 15 * MIN }

const metric = (over: Partial<MeshMetric> = {}): MeshMetric =>
  meshMetric({ startTimeMs: T0, destination: workload("db"), endpoint: "GET:/", latencyMs: 10, ...over })

const service = { scope: "service", service: "db", namespace: "default" } as const
const relation = {
  scope: "serviceRelation",
  detectPoint: "server",
  source: "frontend",
  sourceNamespace: "default",
  target: "db",
  targetNamespace: "default"
} as const

/** A store holding, per minute offset, the service's and the relation's server-side records. */
const storeWith = (minutes: ReadonlyArray<readonly [number, ReadonlyArray<MeshMetric>]>) => {
  const store = makeMemoryStore(120, 10_000)
  for (const [offset, metrics] of minutes) {
    const s = new SeriesStats(true)
    const r = new SeriesStats(false)
    for (const m of metrics) {
      s.record(m, 500)
      r.record(m, 0)
    }
    const bucket: MinuteBucket = new Map([
      [serviceKey("db"), { entity: service, stats: s }],
      [serviceRelationKey("server", "frontend", "db"), { entity: relation, stats: r }]
    ])
    store.merge(T0 + offset * MIN, bucket)
  }
  return syncQueries(makeQueryService(store))
}

const calls = (n: number, over: Partial<MeshMetric> = {}) => Array.from({ length: n }, () => metric(over))

describe("a range's figures", () => {
  it("20 calls in one minute of a 15-minute range read 20 calls/min, on services and relations", () => {
    const query = storeWith([[7, calls(20)]])
    const db = query.services(RANGE).services.find((s) => s.name === "db")!
    expect(db.metrics!.calls).toBe(20)
    expect(db.metrics!.callMinutes).toBe(1)
    expect(db.metrics!.cpm).toBe(20)
    const edge = query.topology(RANGE).edges[0]!
    expect(edge.server!.cpm).toBe(20)
    expect(edge.client).toBeNull()
  })

  it("a range's cpm is the mean of the series' per-minute points that have calls", () => {
    const query = storeWith([
      [3, calls(10)],
      [4, calls(30)],
      [9, calls(50)]
    ])
    const points = query.series({ scope: "service", service: "db" }, RANGE).points
    const perMinute = points.flatMap((p) => (p.metrics ? [p.metrics.cpm] : []))
    expect(perMinute).toStrictEqual([10, 30, 50])
    const mean = perMinute.reduce((a, b) => a + b, 0) / perMinute.length
    const summary = query.topology(RANGE).nodes.find((n) => n.name === "db")!.metrics!
    expect(summary.cpm).toBe(mean)
    expect(summary.callMinutes).toBe(3)
    expect(points.find((p) => p.time === T0 + 3 * MIN)!.metrics!.callMinutes).toBe(1)
  })

  it("success rate and latency weigh every call of the range; a minute without calls adds nothing", () => {
    const query = storeWith([
      [0, calls(9, { latencyMs: 10 })],
      [1, [...calls(1, { latencyMs: 110, success: false, responseCode: 503 })]]
    ])
    const m = query.services(RANGE).services[0]!.metrics!
    expect(m.sla).toBe(90)
    expect(m.respTimeMs).toBe(20)
    expect(m.statusCodes).toStrictEqual({ "200": 9, "503": 1 })
  })

  it("TCP: totals, connections and per-minute rates over the minutes with TCP data, apart from calls", () => {
    const tcp = (received: number, sent: number) => metric({ protocol: "TCP", receivedBytes: received, sentBytes: sent, latencyMs: 60_000 })
    const query = storeWith([
      [2, [tcp(1000, 100), tcp(3000, 300)]],
      [5, [tcp(2000, 200)]],
      [6, calls(4)]
    ])
    const m = query.topology(RANGE).edges[0]!.server!
    expect(m.connections).toBe(3)
    expect(m.tcpMinutes).toBe(2)
    expect(m.receivedBytes).toBe(6000)
    expect(m.receivedBytesPerMin).toBe(3000)
    expect(m.sentBytesPerMin).toBe(300)
    expect(m.connectionsPerMin).toBe(1.5)
    // The calls of minute 6 are HTTP: their rate is over their own minute, untouched by the TCP minutes.
    expect(m.calls).toBe(4)
    expect(m.cpm).toBe(4)
    const point = query
      .series({ scope: "serviceRelation", source: "frontend", target: "db", detectPoint: "server" }, RANGE)
      .points.find((p) => p.time === T0 + 2 * MIN)!.metrics!
    expect([point.receivedBytesPerMin, point.connectionsPerMin, point.cpm]).toStrictEqual([4000, 2, 0])
  })

  it("nothing in the range: no rate, not a division by zero", () => {
    const query = storeWith([[0, [metric({ protocol: "TCP", receivedBytes: 5, sentBytes: 5 })]]])
    const m = query.services(RANGE).services[0]!.metrics!
    expect([m.calls, m.callMinutes, m.cpm, m.sla]).toStrictEqual([0, 0, 0, 100])
  })

  it("the instance-level topology: instances with their server-side figures, the calls between them, a namespace's and its far ends", () => {
    const store = makeMemoryStore(120, 10_000)
    const stats = (n: number) => {
      const s = new SeriesStats(false)
      for (const m of calls(n)) s.record(m, 0)
      return s
    }
    const bucket: MinuteBucket = new Map([
      [serviceKey("db"), { entity: { scope: "service", service: "db", namespace: "data" }, stats: stats(6) }],
      [instanceKey("db", "db-0"), { entity: { scope: "instance", service: "db", namespace: "data", instance: "db-0" }, stats: stats(6) }],
      [
        instanceKey("web", "web-0"),
        { entity: { scope: "instance", service: "web", namespace: "front", instance: "web-0" }, stats: stats(2) }
      ],
      [
        instanceRelationKey("server", "web", "web-0", "db", "db-0"),
        {
          entity: {
            scope: "instanceRelation",
            detectPoint: "server",
            source: "web",
            sourceInstance: "web-0",
            target: "db",
            targetInstance: "db-0"
          },
          stats: stats(6)
        }
      ],
      [
        instanceRelationKey("client", "web", "web-1", "db", "db-0"),
        {
          entity: {
            scope: "instanceRelation",
            detectPoint: "client",
            source: "web",
            sourceInstance: "web-1",
            target: "db",
            targetInstance: "db-0"
          },
          stats: stats(3)
        }
      ]
    ])
    store.merge(T0, bucket)
    const query = syncQueries(makeQueryService(store))
    const all = query.instanceTopology(RANGE)
    expect(all.nodes.map((n) => [n.service, n.instance, n.namespace, n.metrics?.cpm ?? null])).toStrictEqual([
      ["db", "db-0", "data", 6],
      ["web", "web-0", "front", 2],
      ["web", "web-1", "front", null]
    ])
    expect(all.edges.map((e) => [e.sourceInstance, e.targetInstance, e.client?.calls ?? null, e.server?.calls ?? null])).toStrictEqual([
      ["web-0", "db-0", null, 6],
      ["web-1", "db-0", 3, null]
    ])
    // The data namespace: its instance, and the callers at the far end of its calls.
    const data = query.instanceTopology(RANGE, "data")
    expect(data.nodes.map((n) => n.instance)).toStrictEqual(["db-0", "web-0", "web-1"])
    expect(data.edges.length).toBe(2)
    expect(query.instanceTopology(RANGE, "nowhere")).toStrictEqual({ range: RANGE, nodes: [], edges: [] })
  })
})
