// The captured Envoy messages replayed through a real gRPC client over loopback into the running app, then read
// back through the HTTP API: identities, detect points and metrics as test/testdata/README.md gives them.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { api, FIXTURE_MINUTE as MINUTE, FIXTURE_RANGE as RANGE, replayFixtures as replay } from "../support/replayed-fixtures.ts"

describe("replaying captured Envoy ALS messages", () => {
  for (const version of ["v3", "v2"] as const) {
    it.effect(`gives the fixture's topology over the ${version} service`, () =>
      Effect.gen(function* () {
        const app = yield* replay(version)
        const topology = (yield* api(app.url, `/api/topology?${RANGE}`)).body
        const edges = topology.edges.map((e: any) => [e.source, e.target, e.client?.calls ?? 0, e.server?.calls ?? 0])
        expect(edges).toStrictEqual([
          ["ingress", "productpage", 1, 0],
          ["productpage", "detail", 1, 0],
          ["productpage", "review", 0, 1],
          ["UNKNOWN", "ingress", 0, 1]
        ])
        const latency = (e: any) => [e.source, e.target, e.client?.respTimeMs, e.server?.respTimeMs]
        expect(topology.edges.map(latency)).toStrictEqual([
          ["ingress", "productpage", 1010, undefined],
          ["productpage", "detail", 8, undefined],
          ["productpage", "review", undefined, 977],
          ["UNKNOWN", "ingress", undefined, 1010]
        ])
      })
    )
  }

  it.effect("keeps service, instance and endpoint metrics for the server side only", () =>
    Effect.gen(function* () {
      const app = yield* replay("v3")
      const services = (yield* api(app.url, `/api/services?${RANGE}`)).body.services
      const withMetrics = services
        .filter((s: any) => s.metrics !== null)
        .map((s: any) => [s.name, s.metrics.calls, s.metrics.respTimeMs, s.metrics.sla])
      expect(withMetrics).toStrictEqual([
        ["ingress", 1, 1010, 100],
        ["review", 1, 977, 100]
      ])
      const endpoints = (yield* api(app.url, `/api/services/ingress/endpoints?${RANGE}`)).body.endpoints
      expect(endpoints.map((e: any) => [e.name, e.metrics.calls])).toStrictEqual([["GET:/productpage", 1]])
      const productpage = (yield* api(app.url, `/api/services/productpage/endpoints?${RANGE}`)).body.endpoints
      expect(productpage).toStrictEqual([]) // productpage only appears as a caller and as a client-side callee
      const series = (yield* api(app.url, `/api/series?scope=service&service=review&${RANGE}`)).body
      expect(series.points.map((p: any) => [p.time, p.metrics?.calls, p.metrics?.respTimeMs])).toStrictEqual([[MINUTE, 1, 977]])
      // Percentiles come from the log-linear histogram: within 3.2 % of the true 977 ms.
      expect(Math.abs(series.points[0].metrics.percentiles.p99 - 977)).toBeLessThanOrEqual(977 * 0.032)
      const sidecar = (yield* api(app.url, `/api/series?scope=serviceRelation&source=UNKNOWN&target=ingress&detectPoint=server&${RANGE}`))
        .body
      expect(sidecar.points[0].metrics.sidecarInternalReqLatencyNanos).toBe(869_250)
    })
  )
})
