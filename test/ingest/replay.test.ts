// The captured Envoy messages replayed through a real gRPC client over loopback into the running app, then read
// back through the HTTP API: identities, detect points and metrics as test/testdata/README.md gives them.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { api, FIXTURE_MINUTE as MINUTE, FIXTURE_RANGE as RANGE, replayFixtures as replay } from "../support/replayed-fixtures.ts"

describe("replaying captured Envoy ALS messages", () => {
  for (const version of ["v3", "v2"] as const) {
    it.effect(`gives the fixture's topology over the ${version} service`, () =>
      Effect.gen(function* () {
        const app = yield* replay(version)
        const topology = (yield* api(app.url, `/api/topology?${RANGE}`)).body
        const edges = topology.edges.map((e: any) => [e.source, e.target, e.client?.calls ?? 0, e.server?.calls ?? 0])
        assert.deepStrictEqual(edges, [
          ["ingress", "productpage", 1, 0],
          ["productpage", "detail", 1, 0],
          ["productpage", "review", 0, 1],
          ["UNKNOWN", "ingress", 0, 1]
        ])
        const latency = (e: any) => [e.source, e.target, e.client?.respTimeMs, e.server?.respTimeMs]
        assert.deepStrictEqual(topology.edges.map(latency), [
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
      assert.deepStrictEqual(withMetrics, [
        ["ingress", 1, 1010, 100],
        ["review", 1, 977, 100]
      ])
      const endpoints = (yield* api(app.url, `/api/services/ingress/endpoints?${RANGE}`)).body.endpoints
      assert.deepStrictEqual(
        endpoints.map((e: any) => [e.name, e.metrics.calls]),
        [["GET:/productpage", 1]]
      )
      const productpage = (yield* api(app.url, `/api/services/productpage/endpoints?${RANGE}`)).body.endpoints
      assert.deepStrictEqual(productpage, []) // productpage only appears as a caller and as a client-side callee
      const series = (yield* api(app.url, `/api/series?scope=service&service=review&${RANGE}`)).body
      assert.deepStrictEqual(
        series.points.map((p: any) => [p.time, p.metrics?.calls, p.metrics?.respTimeMs]),
        [[MINUTE, 1, 977]]
      )
      // Percentiles come from the log-linear histogram: within 3.2 % of the true 977 ms.
      assert.approximately(series.points[0].metrics.percentiles.p99, 977, 977 * 0.032)
      const sidecar = (yield* api(app.url, `/api/series?scope=serviceRelation&source=UNKNOWN&target=ingress&detectPoint=server&${RANGE}`))
        .body
      assert.strictEqual(sidecar.points[0].metrics.sidecarInternalReqLatencyNanos, 869_250)
    })
  )
})
