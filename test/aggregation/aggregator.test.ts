// Minute buckets in virtual time: flushing, roll-over, late and future records, retention, apdex, series limit,
// the per-service endpoint cap.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Metric, Scope } from "effect"
import { MemoryBudgetLive } from "../../src/memory/budget.ts"
import { TestClock } from "effect/testing"
import { Aggregator, AggregatorLive } from "../../src/aggregation/aggregator.ts"
import { layerFromVariables, type Variables } from "../../src/config.ts"
import type { MeshMetric } from "../../src/domain/mesh-metric.ts"
import { QueryService, QueryServiceLive } from "../../src/query/query-service.ts"
import { endpointsOverflow } from "../../src/telemetry.ts"
import * as MemoryStore from "../../src/store/metric-store.ts"
import { workload } from "../support/ip-table-analyzer.ts"
import { meshMetric } from "../support/mesh-metric.ts"

const T0 = Date.UTC(2026, 10, 25, 10, 0, 0)
const MIN = 60_000

const metric = (over: Partial<MeshMetric> = {}): MeshMetric =>
  meshMetric({ startTimeMs: T0 + 1000, sidecarInternalReqLatencyNs: 1000, sidecarInternalRespLatencyNs: 2000, ...over })

const stages = (config: Variables = {}) => {
  const store = MemoryStore.layerConfig
  return Layer.mergeAll(AggregatorLive.pipe(Layer.provide(store)), QueryServiceLive.pipe(Layer.provide(store))).pipe(
    Layer.provide(MemoryBudgetLive),
    Layer.provide(layerFromVariables({ MESHSIGHT_FLUSH_INTERVAL_MS: "1000", MESHSIGHT_RETENTION_MINUTES: "10", ...config }))
  )
}

/**
 * Sets the virtual clock before the stages start: TestClock runs due sleeps one by one, so moving it years ahead
 * under a running flush loop would replay every beat in between.
 */
const at = <A, E, R>(time: number, body: Effect.Effect<A, E, R>, config: Variables = {}) =>
  Effect.andThen(TestClock.setTime(time), Effect.provide(body, stages(config)))

const range = (start: number, minutes: number) => ({ start, end: start + minutes * MIN })
const serviceCalls = (query: typeof QueryService.Service, start: number, minutes = 1) =>
  Effect.map(query.services(range(start, minutes)), (list) => list.services.find((s) => s.name === "cart")?.metrics?.calls ?? 0)

describe("aggregator", () => {
  it.effect("records become queryable at the next flush", () =>
    at(
      T0 + 10_000,
      Effect.gen(function* () {
        const aggregator = yield* Aggregator
        const query = yield* QueryService
        aggregator.record([metric(), metric()], T0 + 10_000)
        expect(yield* serviceCalls(query, T0)).toBe(0)
        yield* TestClock.adjust("1 second")
        expect(yield* serviceCalls(query, T0)).toBe(2)
      })
    )
  )

  it.effect("a minute rolls over into the next bucket; a late record still lands in its own minute", () =>
    at(
      T0 + 30_000,
      Effect.gen(function* () {
        const aggregator = yield* Aggregator
        const query = yield* QueryService
        aggregator.record([metric()], T0 + 30_000)
        yield* TestClock.adjust("1 minute")
        aggregator.record([metric({ startTimeMs: T0 + MIN + 5000 })], T0 + 90_000)
        aggregator.record([metric({ startTimeMs: T0 + 20_000 })], T0 + 90_000) // late: the previous minute
        yield* TestClock.adjust("1 second")
        const series = yield* query.series({ scope: "service", service: "cart" }, range(T0, 3))
        expect(series.points.map((p) => p.metrics?.calls ?? 0)).toStrictEqual([2, 1, 0])
        expect(series.points.map((p) => p.time)).toStrictEqual([T0, T0 + MIN, T0 + 2 * MIN])
      })
    )
  )

  const now = T0 + 20 * MIN
  it.effect("drops records older than the retention window or too far in the future, and prunes old minutes", () =>
    at(
      now,
      Effect.gen(function* () {
        const aggregator = yield* Aggregator
        const query = yield* QueryService
        const outcome = aggregator.record(
          [
            metric({ startTimeMs: now - 11 * MIN }), // retention is 10 minutes
            metric({ startTimeMs: now + 3 * MIN }), // beyond a minute of clock skew
            metric({ startTimeMs: now + 30_000 }), // within it
            metric({ startTimeMs: now - 9 * MIN })
          ],
          now
        )
        expect(outcome).toStrictEqual({ tooOld: 1, future: 1 })
        yield* TestClock.adjust("1 second")
        expect(yield* serviceCalls(query, now - 10 * MIN, 12)).toBe(2)
        yield* TestClock.adjust("5 minutes")
        expect(yield* serviceCalls(query, now - 10 * MIN, 12)).toBe(1)
      })
    )
  )

  it.effect("service, instance and endpoint metrics come from the server side only; relations from both", () =>
    at(
      T0 + 10_000,
      Effect.gen(function* () {
        const aggregator = yield* Aggregator
        const query = yield* QueryService
        aggregator.record(
          [
            metric({ detectPoint: "client", latencyMs: 120 }),
            metric({ detectPoint: "server", latencyMs: 100 }),
            metric({ detectPoint: "server", source: undefined })
          ],
          T0 + 10_000
        )
        yield* TestClock.adjust("1 second")
        const r = range(T0, 1)
        expect(yield* serviceCalls(query, T0)).toBe(2)
        expect((yield* query.instances("cart", r))?.instances.map((i) => [i.name, i.metrics.calls])).toStrictEqual([["cart-0", 2]])
        expect((yield* query.endpoints("cart", r))?.endpoints.map((e) => [e.name, e.metrics.calls])).toStrictEqual([["GET:/cart", 2]])
        const edge = (yield* query.topology(r)).edges[0]
        expect([edge.source, edge.target, edge.client?.calls, edge.client?.respTimeMs, edge.server?.calls]).toStrictEqual([
          "frontend",
          "cart",
          1,
          120,
          1
        ])
        const instanceRelation = yield* query.series(
          {
            scope: "instanceRelation",
            detectPoint: "server",
            source: "frontend",
            sourceInstance: "frontend-0",
            target: "cart",
            targetInstance: "cart-0"
          },
          r
        )
        expect(instanceRelation.points[0].metrics?.calls).toBe(1)
        expect(yield* query.instances("nobody", r)).toBeUndefined()
      })
    )
  )

  it.effect("apdex: satisfied ≤ T, tolerating ≤ 4T, failures frustrated; T can be set per service, any service name", () =>
    at(
      T0 + 10_000,
      Effect.gen(function* () {
        const aggregator = yield* Aggregator
        const query = yield* QueryService
        const call = (service: string, latencyMs: number, success = true) =>
          metric({ destination: workload(service), latencyMs, success, responseCode: success ? 200 : 503 })
        aggregator.record(
          [
            call("cart", 400),
            call("cart", 1500),
            call("cart", 2500),
            call("cart", 10, false),
            call("slow", 1500),
            call("constructor", 400)
          ],
          T0 + 10_000
        )
        yield* TestClock.adjust("1 second")
        const byName = new Map((yield* query.services(range(T0, 1))).services.map((s) => [s.name, s.metrics]))
        // cart: (1 satisfied + 1 tolerating / 2) / 4 calls; slow has T = 2000 ms
        expect(byName.get("cart")?.apdex).toBe(0.375)
        expect(byName.get("cart")?.sla).toBe(75)
        expect(byName.get("cart")?.statusCodes).toStrictEqual({ "200": 3, "503": 1 })
        expect(byName.get("slow")?.apdex).toBe(1)
        // A service named like an Object.prototype member has the default T, not that member.
        expect(byName.get("constructor")?.apdex).toBe(1)
      }),
      { MESHSIGHT_APDEX_THRESHOLD_MS: "500", MESHSIGHT_APDEX_THRESHOLDS: "slow=2000" }
    )
  )

  it.effect("a minute holds at most the configured number of series; the rest are refused", () =>
    at(
      T0 + 10_000,
      Effect.gen(function* () {
        const aggregator = yield* Aggregator
        const query = yield* QueryService
        // Each record makes up to 5 series (service, instance, endpoint, 2 relations).
        aggregator.record(
          Array.from({ length: 10 }, (_, i) => metric({ destination: workload(`svc${i}`) })),
          T0 + 10_000
        )
        yield* TestClock.adjust("1 second")
        const services = (yield* query.services(range(T0, 1))).services.filter((s) => s.metrics !== null)
        expect(services.length >= 1 && services.length < 10, `${services.length} services with metrics`).toBe(true)
      }),
      { MESHSIGHT_MAX_SERIES_PER_MINUTE: "12" }
    )
  )

  /** Every page of cart's endpoints, following the cursors. */
  const endpointCalls = (query: typeof QueryService.Service, start: number) =>
    Effect.gen(function* () {
      const calls = new Map<string, number>()
      let cursor: string | undefined
      do {
        const page = yield* query.endpoints("cart", range(start, 1), { limit: 1000, cursor })
        for (const e of page?.endpoints ?? []) calls.set(e.name, e.metrics.calls)
        cursor = page?.nextCursor ?? undefined
      } while (cursor !== undefined)
      return calls
    })
  const overflowCount = Metric.value(endpointsOverflow).pipe(Effect.map((s) => s.count))

  it.effect("10 000 distinct ungrouped endpoints stay bounded by the cap (3000 + (other)); every call still counts", () =>
    at(
      T0 + 10_000,
      Effect.gen(function* () {
        const aggregator = yield* Aggregator
        const query = yield* QueryService
        const overflowBefore = yield* overflowCount
        aggregator.record(
          Array.from({ length: 10_000 }, (_, n) => metric({ endpoint: `GET:/items/${n}` })),
          T0 + 10_000
        )
        yield* TestClock.adjust("1 second")
        const calls = yield* endpointCalls(query, T0)
        expect(calls.size).toBe(3001)
        expect(calls.get("GET:/items/2999")).toBe(1)
        expect(calls.has("GET:/items/3000")).toBe(false)
        expect(calls.get("(other)")).toBe(7000)
        expect(yield* serviceCalls(query, T0)).toBe(10_000)
        expect((yield* overflowCount) - overflowBefore).toBe(7000)
      })
    )
  )

  it.effect("the cap: an endpoint admitted earlier in the minute keeps its series; grouped names are exempt; each minute starts over", () =>
    at(
      T0 + 10_000,
      Effect.gen(function* () {
        const aggregator = yield* Aggregator
        const query = yield* QueryService
        aggregator.record([metric({ endpoint: "GET:/a" }), metric({ endpoint: "GET:/b" })], T0 + 10_000)
        yield* TestClock.adjust("1 second") // the pending bucket is flushed: the cap remembers the minute's endpoints
        aggregator.record(
          [
            metric({ endpoint: "GET:/a" }),
            metric({ endpoint: "GET:/c" }),
            metric({ endpoint: "GET:/items/{id}", endpointGrouped: true }),
            metric({ endpoint: "GET:/c", startTimeMs: T0 + MIN + 1000 })
          ],
          T0 + MIN + 2000
        )
        yield* TestClock.adjust("1 second")
        expect(yield* endpointCalls(query, T0)).toStrictEqual(
          new Map([
            ["GET:/a", 2],
            ["GET:/b", 1],
            ["(other)", 1],
            ["GET:/items/{id}", 1]
          ])
        )
        expect(yield* endpointCalls(query, T0 + MIN)).toStrictEqual(new Map([["GET:/c", 1]]))
      }),
      { MESHSIGHT_MAX_ENDPOINTS_PER_SERVICE: "2" }
    )
  )

  it.effect("closing the layer flushes what is pending (shutdown)", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0 + 10_000)
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(stages(), scope)
      const aggregator = context.mapUnsafe.get(Aggregator.key) as typeof Aggregator.Service
      const query = context.mapUnsafe.get(QueryService.key) as typeof QueryService.Service
      aggregator.record([metric()], T0 + 10_000)
      expect(yield* serviceCalls(query, T0)).toBe(0)
      yield* Scope.close(scope, Exit.void)
      expect(yield* serviceCalls(query, T0)).toBe(1)
    })
  )
})
