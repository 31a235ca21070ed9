// The query API's contract beyond the happy path of test/ingest/replay.test.ts: default ranges, namespace filters,
// every series scope, and the answers to bad parameters and unknown services.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../../scripts/ports.ts"
import { startMeshsight } from "../support/meshsight.ts"
import { api, FIXTURE_MINUTE as MINUTE, FIXTURE_NOW, FIXTURE_RANGE as RANGE, replayFixtures } from "../support/replayed-fixtures.ts"

const names = (items: ReadonlyArray<{ readonly name: string }>) => items.map((i) => i.name)

describe("query API", () => {
  it.effect("without start/end a range is the last 15 minutes, including the current one", () =>
    Effect.gen(function* () {
      const app = yield* replayFixtures()
      const { status, body } = yield* api(app.url, "/api/services")
      assert.strictEqual(status, 200)
      const currentMinute = MINUTE + 60_000 // FIXTURE_NOW is 30 s into the minute after the fixtures'
      assert.strictEqual(FIXTURE_NOW - currentMinute, 30_000)
      assert.deepStrictEqual(body.range, { start: currentMinute + 60_000 - 15 * 60_000, end: currentMinute + 60_000 })
      // The gateway's caller had no identity: it is listed as UNKNOWN, as SkyWalking does.
      assert.deepStrictEqual(names(body.services), ["detail", "ingress", "productpage", "review", "UNKNOWN"])
    })
  )

  it.effect("a namespace narrows services; topology keeps the calls that cross into it", () =>
    Effect.gen(function* () {
      const app = yield* replayFixtures()
      const services = (yield* api(app.url, `/api/services?namespace=istio-system&${RANGE}`)).body.services
      assert.deepStrictEqual(names(services), ["ingress"])
      const topology = (yield* api(app.url, `/api/topology?namespace=istio-system&${RANGE}`)).body
      assert.deepStrictEqual(
        topology.edges.map((e: any) => [e.source, e.target]),
        [
          ["ingress", "productpage"],
          ["UNKNOWN", "ingress"]
        ]
      )
      const none = (yield* api(app.url, `/api/services?namespace=kube-system&${RANGE}`)).body.services
      assert.deepStrictEqual(none, [])
    })
  )

  it.effect("a service's instances, endpoints and neighbourhood", () =>
    Effect.gen(function* () {
      const app = yield* replayFixtures()
      const instances = (yield* api(app.url, `/api/services/review/instances?${RANGE}`)).body
      assert.deepStrictEqual(
        instances.instances.map((i: any) => [i.name, i.metrics.calls]),
        [["review-0", 1]]
      )
      const around = (yield* api(app.url, `/api/services/productpage/topology?${RANGE}`)).body
      assert.deepStrictEqual(
        around.edges.map((e: any) => [e.source, e.target]),
        [
          ["ingress", "productpage"],
          ["productpage", "detail"],
          ["productpage", "review"]
        ]
      )
      assert.deepStrictEqual(names(around.nodes), ["detail", "ingress", "productpage", "review"])
    })
  )

  it.effect("series for every scope, one point per minute, null where nothing was called", () =>
    Effect.gen(function* () {
      const app = yield* replayFixtures()
      const range = `start=${MINUTE - 60_000}&end=${MINUTE + 60_000}`
      const points = (query: string) =>
        Effect.map(api(app.url, `/api/series?${query}&${range}`), (r) => {
          assert.strictEqual(r.status, 200, query)
          return r.body.points.map((p: any) => [p.time, p.metrics?.calls ?? null])
        })
      const one = [
        [MINUTE - 60_000, null],
        [MINUTE, 1]
      ]
      assert.deepStrictEqual(yield* points("scope=service&service=ingress"), one)
      assert.deepStrictEqual(yield* points("scope=instance&service=review&instance=review-0"), one)
      assert.deepStrictEqual(yield* points("scope=endpoint&service=ingress&endpoint=GET:/productpage"), one)
      assert.deepStrictEqual(yield* points("scope=serviceRelation&source=productpage&target=detail&detectPoint=client"), one)
      assert.deepStrictEqual(
        yield* points(
          "scope=instanceRelation&source=productpage&sourceInstance=productpage-0&target=review&targetInstance=review-0&detectPoint=server"
        ),
        one
      )
      // A series nobody reported is all nulls, not an error: the entity may simply have been quiet.
      assert.deepStrictEqual(yield* points("scope=service&service=ratings"), [
        [MINUTE - 60_000, null],
        [MINUTE, null]
      ])
    })
  )

  it.effect("bad parameters are answered 400 with the reason; unknown services and routes 404", () =>
    Effect.gen(function* () {
      const app = yield* replayFixtures()
      const answer = (path: string) => Effect.map(api(app.url, path), (r) => [r.status, r.body?.error])

      const [badStart, badStartError] = yield* answer("/api/services?start=yesterday")
      assert.strictEqual(badStart, 400)
      assert.include(badStartError, "start")
      assert.deepStrictEqual(yield* answer(`/api/topology?start=${MINUTE}&end=${MINUTE}`), [
        400,
        `start (${MINUTE}) must be before end (${MINUTE})`
      ])
      assert.deepStrictEqual(yield* answer(`/api/topology?start=${MINUTE - 8 * 24 * 3_600_000}&end=${MINUTE}`), [
        400,
        "a range spans at most 10080 minutes"
      ])
      const [noDetectPoint, noDetectPointError] = yield* answer("/api/series?scope=serviceRelation&source=a&target=b")
      assert.strictEqual(noDetectPoint, 400)
      assert.include(noDetectPointError, "detectPoint")
      const [badScope] = yield* answer("/api/series?scope=galaxy&service=a")
      assert.strictEqual(badScope, 400)

      assert.deepStrictEqual(yield* answer(`/api/services/ratings/instances?${RANGE}`), [404, "unknown service: ratings"])
      assert.deepStrictEqual(yield* answer(`/api/services/ratings/endpoints?${RANGE}`), [404, "unknown service: ratings"])
      assert.deepStrictEqual(yield* answer(`/api/services/ratings/topology?${RANGE}`), [404, "unknown service: ratings"])
      const [unknownRoute] = yield* answer("/api/nothing-here")
      assert.strictEqual(unknownRoute, 404)
    })
  )

  it.effect("GET /api/status names the bound gRPC port, the ALS port and the retention, for the UI's first-run page", () =>
    Effect.gen(function* () {
      const alsPort = yield* Effect.promise(() => freePort())
      const app = yield* startMeshsight({
        config: { MESHSIGHT_ALS_GRPC_HOST: "127.0.0.1", MESHSIGHT_ALS_GRPC_PORT: String(alsPort), MESHSIGHT_RETENTION_MINUTES: "90" }
      })
      const { status, body } = yield* api(app.url, "/api/status")
      assert.strictEqual(status, 200)
      assert.deepStrictEqual(body, { grpcPort: app.grpcPort, alsPort, retentionMinutes: 90 })
      assert.notStrictEqual(app.grpcPort, alsPort)
    })
  )
})
