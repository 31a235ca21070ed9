// k8s-mesh when the API server misbehaves: dropped watches, restarts with and without history, 410 Gone. The
// resolver keeps serving its last good state, resumes where it can and lists again where it must, counts each
// restart, and leaves no watch open once its Scope closes.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Metric, Scope } from "effect"
import { watchRestarts } from "../../../src/identity/k8s-mesh/resource-sync.ts"
import { FakeKubeApi } from "../../../testkit/fake-kube-api.ts"
import { eventually, putWorkload, service, startK8sMesh, whoWas } from "../../../testkit/cluster-objects.ts"

const fakeApi = Effect.acquireRelease(
  Effect.promise(() => new FakeKubeApi().start()),
  (api) => Effect.promise(() => api.stop())
)

const lists = (api: FakeKubeApi) => api.requests.filter((r) => r.startsWith("/api/v1/pods?") && !r.includes("watch=true")).length
const restarts = (reason: string) =>
  Metric.value(Metric.withAttributes(watchRestarts, { resource: "pods", reason })).pipe(Effect.map((s) => s.count))

/** A synced analyzer over `reviews-1` at 10.0.0.1, with all four watches open (pods, services, slices, ServiceEntries). */
const synced = Effect.gen(function* () {
  const api = yield* fakeApi
  putWorkload(api, "reviews-1", "10.0.0.1")
  const k8s = yield* startK8sMesh(api)
  yield* eventually(
    () => k8s.isReady() && api.watchCount === 4,
    (ok) => ok
  )
  return { api, k8s }
})

describe("k8s-mesh resilience", () => {
  it.live("resumes a dropped watch from its last version: no relist, no lost event", () =>
    Effect.gen(function* () {
      const { api, k8s } = yield* synced
      const restartsBefore = (yield* restarts("dropped")) + (yield* restarts("error"))
      api.dropConnections()
      putWorkload(api, "ratings-1", "10.0.0.2") // made while no watch is open
      yield* eventually(
        () => whoWas(k8s, "10.0.0.2")?.service,
        (s) => s === "ratings"
      )
      expect(lists(api)).toBe(1)
      // A watch cut before it delivered anything backs off ("error"); one cut after, resumes ("dropped").
      expect((yield* restarts("dropped")) + (yield* restarts("error"))).toBeGreaterThan(restartsBefore)
    })
  )

  it.live("resumes from a bookmark's version: changes to other kinds since the last pod event cost no relist", () =>
    Effect.gen(function* () {
      const { api, k8s } = yield* synced
      api.put("services", service("details")) // moves the version on; the pod watch sees no event of it
      api.bookmark("pods")
      yield* Effect.sleep("100 millis") // for the bookmark to cross loopback before the connection is cut
      api.compact() // a resume from before the bookmark would now be answered 410
      api.dropConnections()
      putWorkload(api, "ratings-1", "10.0.0.2")
      yield* eventually(
        () => whoWas(k8s, "10.0.0.2")?.service,
        (s) => s === "ratings"
      )
      expect(lists(api)).toBe(1)
    })
  )

  it.live("survives an API server restart, serving the last good state while it is down", () =>
    Effect.gen(function* () {
      const { api, k8s } = yield* synced
      yield* Effect.promise(() => api.stop())
      putWorkload(api, "ratings-1", "10.0.0.2")
      yield* Effect.sleep("150 millis") // several failed reconnects
      expect(k8s.isReady()).toBe(true)
      expect(whoWas(k8s, "10.0.0.1")?.service).toBe("reviews")
      yield* Effect.promise(() => api.start(api.port))
      yield* eventually(
        () => whoWas(k8s, "10.0.0.2")?.service,
        (s) => s === "ratings"
      )
      expect(lists(api), "history was kept: the watches resume").toBe(1)
    })
  )

  it.live("lists again after a restart that lost the history (410 Gone), dropping what was deleted meanwhile", () =>
    Effect.gen(function* () {
      const { api, k8s } = yield* synced
      const goneBefore = yield* restarts("gone")
      yield* Effect.promise(() => api.stop())
      api.delete("pods", "default", "reviews-1")
      putWorkload(api, "ratings-1", "10.0.0.2")
      yield* Effect.promise(() => api.restart({ keepHistory: false }))
      yield* eventually(
        () => [whoWas(k8s, "10.0.0.1")?.service, whoWas(k8s, "10.0.0.2")?.service],
        ([a, b]) => a === undefined && b === "ratings"
      )
      expect(lists(api)).toBe(2)
      expect(yield* restarts("gone")).toBeGreaterThan(goneBefore)
    })
  )

  it.live("lists again when a watch is answered with a 410 ERROR event", () =>
    Effect.gen(function* () {
      const { api, k8s } = yield* synced
      api.compact()
      api.expireWatches("pods")
      yield* eventually(
        () => lists(api),
        (n) => n === 2
      )
      putWorkload(api, "ratings-1", "10.0.0.2")
      yield* eventually(
        () => whoWas(k8s, "10.0.0.2")?.service,
        (s) => s === "ratings"
      )
    })
  )

  it.live("closes every watch when its Scope closes", () =>
    Effect.gen(function* () {
      const api = yield* fakeApi
      putWorkload(api, "reviews-1", "10.0.0.1")
      const scope = yield* Scope.make()
      const k8s = yield* startK8sMesh(api).pipe(Scope.provide(scope))
      yield* eventually(
        () => k8s.isReady() && api.watchCount === 4,
        (ok) => ok
      )
      yield* Scope.close(scope, Exit.void)
      yield* eventually(
        () => api.watchCount,
        (n) => n === 0
      )
      const requestsAfterClose = api.requests.length
      yield* Effect.sleep("100 millis") // a wait for nothing to happen: a reconnect would show as a request
      expect(api.requests.length, "no reconnects after shutdown").toBe(requestsAfterClose)
    })
  )
})
