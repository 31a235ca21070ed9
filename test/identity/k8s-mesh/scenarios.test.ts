// k8s-mesh against a fake API server over real HTTP, through the real @kubernetes/client-node: how pods, IPs and
// Services map to identities as the cluster changes.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { FakeKubeApi } from "../../../testkit/fake-kube-api.ts"
import { endpointSlice, eventually, pod, putWorkload, service, startK8sMesh, whoWas } from "../../../testkit/cluster-objects.ts"

const fakeApi = Effect.acquireRelease(
  Effect.promise(() => new FakeKubeApi().start()),
  (api) => Effect.promise(() => api.stop())
)

const serviceOf = (analyzer: Parameters<typeof whoWas>[0], ip: string, at?: number) => whoWas(analyzer, ip, at)?.service

describe("k8s-mesh scenarios", () => {
  it.live("resolves listed pods, and pods created later, to their Service, instance and labels", () =>
    Effect.gen(function* () {
      const api = yield* fakeApi
      putWorkload(api, "reviews-1", "10.0.0.1", { labels: { app: "reviews", version: "v1" } })
      const k8s = yield* startK8sMesh(api)
      yield* eventually(
        () => k8s.isReady(),
        (ready) => ready
      )
      expect(whoWas(k8s, "10.0.0.1")).toStrictEqual({
        service: "reviews",
        instance: "reviews-1.default",
        namespace: "default",
        labels: { app: "reviews", version: "v1" },
        workload: "reviews-1" // a bare pod: its own name (test/identity/k8s-mesh/workload-name.test.ts)
      })
      putWorkload(api, "ratings-1", "10.0.0.2")
      yield* eventually(
        () => serviceOf(k8s, "10.0.0.2"),
        (s) => s === "ratings"
      )
      expect(whoWas(k8s, "10.0.0.3")).toBeUndefined()
    })
  )

  it.live("names by the rule, falling back to the Service's name when the rule finds no value", () =>
    Effect.gen(function* () {
      const api = yield* fakeApi
      putWorkload(api, "reviews-1", "10.0.0.1", { labels: { app: "reviews", "service.istio.io/canonical-name": "reviews-canon" } })
      putWorkload(api, "ratings-1", "10.0.0.2", { labels: { app: "ratings" } })
      const k8s = yield* startK8sMesh(api, {
        MESHSIGHT_K8S_SERVICE_NAME_RULE: "${pod.metadata.labels.(service.istio.io/canonical-name)}.${pod.metadata.namespace}"
      })
      yield* eventually(
        () => k8s.isReady(),
        (ready) => ready
      )
      expect(serviceOf(k8s, "10.0.0.1")).toBe("reviews-canon.default")
      expect(serviceOf(k8s, "10.0.0.2")).toBe("ratings")
    })
  )

  it.live("gives a deleted pod's reused IP to the new pod, and keeps the old one for entries that started before", () =>
    Effect.gen(function* () {
      const api = yield* fakeApi
      putWorkload(api, "reviews-1", "10.0.0.1")
      const k8s = yield* startK8sMesh(api)
      yield* eventually(
        () => k8s.isReady(),
        (ready) => ready
      )
      // Strictly before: over loopback the deletion can be indexed within the same millisecond, and a pod holds its
      // IP until (not including) the moment it ended.
      const beforeDeletion = Date.now() - 1
      api.delete("pods", "default", "reviews-1")
      yield* eventually(
        () => serviceOf(k8s, "10.0.0.1"),
        (s) => s === undefined
      )
      expect(serviceOf(k8s, "10.0.0.1", beforeDeletion), "an entry that started before the deletion").toBe("reviews")
      // The IP is reused by a pod of another workload that starts now.
      const startTime = new Date(Date.now() + 1000).toISOString()
      putWorkload(api, "ratings-1", "10.0.0.1", { startTime })
      yield* eventually(
        () => serviceOf(k8s, "10.0.0.1", Date.now() + 1000),
        (s) => s === "ratings"
      )
      expect(serviceOf(k8s, "10.0.0.1", beforeDeletion)).toBe("reviews")
    })
  )

  it.live("lets a finished pod (Succeeded, Failed) give up its IP", () =>
    Effect.gen(function* () {
      const api = yield* fakeApi
      putWorkload(api, "job-1", "10.0.0.7")
      const k8s = yield* startK8sMesh(api)
      yield* eventually(
        () => serviceOf(k8s, "10.0.0.7"),
        (s) => s === "job"
      )
      api.put("pods", pod("job-1", { ips: ["10.0.0.7"], phase: "Succeeded" }))
      yield* eventually(
        () => serviceOf(k8s, "10.0.0.7"),
        (s) => s === undefined
      )
    })
  )

  it.live("never names a hostNetwork pod by the node IP it shares; node IPs are unknown", () =>
    Effect.gen(function* () {
      const api = yield* fakeApi
      api.put("pods", pod("node-exporter-1", { ips: ["192.168.0.10"], hostIP: "192.168.0.10", hostNetwork: true }))
      api.put("services", service("node-exporter", { selector: { app: "node" } }))
      api.put("endpointslices", endpointSlice("node-exporter", { "node-exporter-1": "192.168.0.10" }))
      putWorkload(api, "reviews-1", "10.0.0.1")
      const k8s = yield* startK8sMesh(api)
      yield* eventually(
        () => serviceOf(k8s, "10.0.0.1"),
        (s) => s === "reviews"
      )
      expect(whoWas(k8s, "192.168.0.10")).toBeUndefined()
    })
  )

  it.live("indexes every address of a dual-stack pod", () =>
    Effect.gen(function* () {
      const api = yield* fakeApi
      api.put("pods", pod("web-1", { ips: ["10.0.0.5", "fd00::5"] }))
      api.put("services", service("web", { selector: { app: "web" } }))
      api.put("endpointslices", endpointSlice("web", { "web-1": "10.0.0.5" }, { name: "web-v4" }))
      api.put("endpointslices", endpointSlice("web", { "web-1": "fd00::5" }, { name: "web-v6" }))
      const k8s = yield* startK8sMesh(api)
      yield* eventually(
        () => k8s.isReady(),
        (ready) => ready
      )
      expect([serviceOf(k8s, "10.0.0.5"), serviceOf(k8s, "fd00::5")]).toStrictEqual(["web", "web"])
      // One of the two slices goes: the pod still belongs to the Service through the other.
      api.delete("endpointslices", "default", "web-v6")
      yield* Effect.sleep("100 millis") // a wait for nothing to change: no state to poll shows the delete arrived
      expect(serviceOf(k8s, "fd00::5")).toBe("web")
    })
  )

  it.live("follows Service membership: EndpointSlice changes, and selectors of Services without slices", () =>
    Effect.gen(function* () {
      const api = yield* fakeApi
      api.put("pods", pod("a-1", { ips: ["10.0.1.1"], labels: { app: "a" } }))
      api.put("pods", pod("b-1", { ips: ["10.0.1.2"], labels: { app: "b" } }))
      api.put("services", service("front", { selector: { app: "a" } })) // no slices: matched by selector
      const k8s = yield* startK8sMesh(api)
      yield* eventually(
        () => k8s.isReady(),
        (ready) => ready
      )
      expect([serviceOf(k8s, "10.0.1.1"), serviceOf(k8s, "10.0.1.2")]).toStrictEqual(["front", undefined])
      api.put("services", service("front", { selector: { app: "b" } }))
      yield* eventually(
        () => [serviceOf(k8s, "10.0.1.1"), serviceOf(k8s, "10.0.1.2")],
        ([a, b]) => a === undefined && b === "front"
      )
      // Once the Service has slices, they decide, whatever the selector says.
      api.put("endpointslices", endpointSlice("front", { "a-1": "10.0.1.1" }))
      yield* eventually(
        () => [serviceOf(k8s, "10.0.1.1"), serviceOf(k8s, "10.0.1.2")],
        ([a, b]) => a === "front" && b === undefined
      )
    })
  )
})
