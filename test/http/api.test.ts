// The query API's contract beyond the happy path of test/ingest/replay.test.ts: default ranges, namespace filters,
// every series scope, and the answers to bad parameters and unknown services.
import { describe, expect, it } from "@effect/vitest"
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
      expect(status).toBe(200)
      const currentMinute = MINUTE + 60_000 // FIXTURE_NOW is 30 s into the minute after the fixtures'
      expect(FIXTURE_NOW - currentMinute).toBe(30_000)
      expect(body.range).toStrictEqual({ start: currentMinute + 60_000 - 15 * 60_000, end: currentMinute + 60_000 })
      // The gateway's caller had no identity: it is listed as UNKNOWN, as SkyWalking does.
      expect(names(body.services)).toStrictEqual(["detail", "ingress", "productpage", "review", "UNKNOWN"])
    })
  )

  it.effect("a namespace narrows services; topology keeps the calls that cross into it", () =>
    Effect.gen(function* () {
      const app = yield* replayFixtures()
      const services = (yield* api(app.url, `/api/services?namespace=istio-system&${RANGE}`)).body.services
      expect(names(services)).toStrictEqual(["ingress"])
      const topology = (yield* api(app.url, `/api/topology?namespace=istio-system&${RANGE}`)).body
      expect(topology.edges.map((e: any) => [e.source, e.target])).toStrictEqual([
        ["ingress", "productpage"],
        ["UNKNOWN", "ingress"]
      ])
      const none = (yield* api(app.url, `/api/services?namespace=kube-system&${RANGE}`)).body.services
      expect(none).toStrictEqual([])
    })
  )

  it.effect("a service's instances, endpoints and neighbourhood", () =>
    Effect.gen(function* () {
      const app = yield* replayFixtures()
      const instances = (yield* api(app.url, `/api/services/review/instances?${RANGE}`)).body
      expect(instances.instances.map((i: any) => [i.name, i.metrics.calls])).toStrictEqual([["review-0", 1]])
      const around = (yield* api(app.url, `/api/services/productpage/topology?${RANGE}`)).body
      expect(around.edges.map((e: any) => [e.source, e.target])).toStrictEqual([
        ["ingress", "productpage"],
        ["productpage", "detail"],
        ["productpage", "review"]
      ])
      expect(names(around.nodes)).toStrictEqual(["detail", "ingress", "productpage", "review"])
    })
  )

  it.effect("series for every scope, one point per minute, null where nothing was called", () =>
    Effect.gen(function* () {
      const app = yield* replayFixtures()
      const range = `start=${MINUTE - 60_000}&end=${MINUTE + 60_000}`
      const points = (query: string) =>
        Effect.map(api(app.url, `/api/series?${query}&${range}`), (r) => {
          expect(r.status, query).toBe(200)
          return r.body.points.map((p: any) => [p.time, p.metrics?.calls ?? null])
        })
      const one = [
        [MINUTE - 60_000, null],
        [MINUTE, 1]
      ]
      expect(yield* points("scope=service&service=ingress")).toStrictEqual(one)
      expect(yield* points("scope=instance&service=review&instance=review-0")).toStrictEqual(one)
      expect(yield* points("scope=endpoint&service=ingress&endpoint=GET:/productpage")).toStrictEqual(one)
      expect(yield* points("scope=serviceRelation&source=productpage&target=detail&detectPoint=client")).toStrictEqual(one)
      expect(
        yield* points(
          "scope=instanceRelation&source=productpage&sourceInstance=productpage-0&target=review&targetInstance=review-0&detectPoint=server"
        )
      ).toStrictEqual(one)
      // A series nobody reported is all nulls, not an error: the entity may simply have been quiet.
      expect(yield* points("scope=service&service=ratings")).toStrictEqual([
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
      expect(badStart).toBe(400)
      expect(badStartError).toContain("start")
      expect(yield* answer(`/api/topology?start=${MINUTE}&end=${MINUTE}`)).toStrictEqual([
        400,
        `start (${MINUTE}) must be before end (${MINUTE})`
      ])
      expect(yield* answer(`/api/topology?start=${MINUTE - 8 * 24 * 3_600_000}&end=${MINUTE}`)).toStrictEqual([
        400,
        "a range spans at most 10080 minutes"
      ])
      const [noDetectPoint, noDetectPointError] = yield* answer("/api/series?scope=serviceRelation&source=a&target=b")
      expect(noDetectPoint).toBe(400)
      expect(noDetectPointError).toContain("detectPoint")
      const [badScope] = yield* answer("/api/series?scope=galaxy&service=a")
      expect(badScope).toBe(400)

      expect(yield* answer(`/api/services/ratings/instances?${RANGE}`)).toStrictEqual([404, "unknown service: ratings"])
      expect(yield* answer(`/api/services/ratings/endpoints?${RANGE}`)).toStrictEqual([404, "unknown service: ratings"])
      expect(yield* answer(`/api/services/ratings/topology?${RANGE}`)).toStrictEqual([404, "unknown service: ratings"])
      const [unknownRoute] = yield* answer("/api/nothing-here")
      expect(unknownRoute).toBe(404)
    })
  )

  it.effect("GET /api/status names the bound gRPC port, the ALS port and the retention, for the UI's first-run page", () =>
    Effect.gen(function* () {
      const alsPort = yield* Effect.promise(() => freePort())
      const app = yield* startMeshsight({
        config: { MESHSIGHT_ALS_GRPC_HOST: "127.0.0.1", MESHSIGHT_ALS_GRPC_PORT: String(alsPort), MESHSIGHT_RETENTION_MINUTES: "90" }
      })
      const { status, body } = yield* api(app.url, "/api/status")
      expect(status).toBe(200)
      expect(body).toStrictEqual({ grpcPort: app.grpcPort, alsPort, retentionMinutes: 90 })
      expect(app.grpcPort).not.toBe(alsPort)
    })
  )
})
