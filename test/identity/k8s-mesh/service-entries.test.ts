// k8s-mesh and Istio ServiceEntries, against the fake API server through the real @kubernetes/client-node:
// addresses outside the pods named by the entry's host, before pods; a cluster without the CRD; entries that change.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import { FakeKubeApi } from "../../../testkit/fake-kube-api.ts"
import { eventually, putWorkload, startK8sMesh, whoWas } from "../../../testkit/cluster-objects.ts"

const fakeApi = Effect.acquireRelease(
  Effect.promise(() => new FakeKubeApi().start()),
  (api) => Effect.promise(() => api.stop())
)

interface EntrySpec {
  readonly namespace?: string
  readonly hosts?: ReadonlyArray<string>
  readonly resolution?: string
  readonly addresses?: ReadonlyArray<string>
  readonly endpoints?: ReadonlyArray<string>
}

/** A ServiceEntry as `kubectl get serviceentry -o json` shows it (plus fields k8s-mesh ignores). */
const serviceEntry = (name: string, spec: EntrySpec) => ({
  apiVersion: "networking.istio.io/v1",
  kind: "ServiceEntry",
  metadata: { name, namespace: spec.namespace ?? "default", labels: { team: "ext" } },
  spec: {
    hosts: spec.hosts ?? [`${name}.example.com`],
    ports: [{ number: 443, name: "https", protocol: "TLS" }],
    location: "MESH_EXTERNAL",
    ...(spec.resolution !== undefined && { resolution: spec.resolution }),
    ...(spec.addresses !== undefined && { addresses: spec.addresses }),
    ...(spec.endpoints !== undefined && { endpoints: spec.endpoints.map((address) => ({ address, ports: { https: 8443 } })) })
  }
})

const serviceOf = (analyzer: Parameters<typeof whoWas>[0], ip: string) => whoWas(analyzer, ip)?.service

describe("k8s-mesh ServiceEntries", () => {
  it.live("names a STATIC entry's addresses and endpoints by its host, with the IP as instance, before pods", () =>
    Effect.gen(function* () {
      const api = yield* fakeApi
      putWorkload(api, "reviews-1", "10.0.0.1")
      // 10.0.0.1 is also a pod's: the entry wins, as in SkyWalking.
      api.put(
        "serviceentries",
        serviceEntry("db", {
          hosts: ["db.corp.internal", "db-replica.corp.internal"],
          resolution: "STATIC",
          addresses: ["192.0.2.10", "10.0.0.1"],
          endpoints: ["198.51.100.7", "db-host.corp.internal"]
        })
      )
      const k8s = yield* startK8sMesh(api)
      yield* eventually(
        () => k8s.isReady(),
        (ready) => ready
      )
      expect(whoWas(k8s, "198.51.100.7")).toStrictEqual({
        service: "db.corp.internal",
        instance: "198.51.100.7",
        namespace: "default",
        labels: { team: "ext" }
      })
      expect([serviceOf(k8s, "192.0.2.10"), serviceOf(k8s, "10.0.0.1")]).toStrictEqual(["db.corp.internal", "db.corp.internal"])
      expect(whoWas(k8s, "192.0.2.10"), "the same identity object every time").toBe(whoWas(k8s, "192.0.2.10"))
      // An entry without a resolution (NONE) answers for its addresses too.
      api.put("serviceentries", serviceEntry("vm", { addresses: ["203.0.113.4"] }))
      yield* eventually(
        () => serviceOf(k8s, "203.0.113.4"),
        (s) => s === "vm.example.com"
      )
    })
  )

  it.live("names the addresses inside its CIDRs, IPv4 and IPv6, the most specific first", () =>
    Effect.gen(function* () {
      const api = yield* fakeApi
      api.put("serviceentries", serviceEntry("corp", { resolution: "STATIC", addresses: ["172.16.0.0/12", "fd00:ab::/32"] }))
      api.put("serviceentries", serviceEntry("lab", { resolution: "STATIC", addresses: ["172.16.5.0/24", "2001:DB8:0:0::7"] }))
      const k8s = yield* startK8sMesh(api)
      yield* eventually(
        () => k8s.isReady(),
        (ready) => ready
      )
      expect(
        ["172.16.0.1", "172.31.255.254", "172.32.0.1", "172.16.5.9", "fd00:ab:1::5", "fd00:ac::5"].map((ip) => serviceOf(k8s, ip))
      ).toStrictEqual(["corp.example.com", "corp.example.com", undefined, "lab.example.com", "corp.example.com", undefined])
      expect(whoWas(k8s, "fd00:ab:1::5")?.instance).toBe("fd00:ab:1::5")
      // An IPv6 address written out long still meets the short form Envoy logs.
      expect(serviceOf(k8s, "2001:db8::7")).toBe("lab.example.com")
    })
  )

  it.live("names a DNS entry's endpoints given as IPs, not its addresses", () =>
    Effect.gen(function* () {
      const api = yield* fakeApi
      api.put(
        "serviceentries",
        serviceEntry("payments", {
          hosts: ["api.payments.example"],
          resolution: "DNS",
          addresses: ["240.240.0.1"],
          endpoints: ["203.0.113.20", "2001:db8::20", "lb.payments.example"]
        })
      )
      const k8s = yield* startK8sMesh(api)
      yield* eventually(
        () => k8s.isReady(),
        (ready) => ready
      )
      expect(["203.0.113.20", "2001:db8::20", "240.240.0.1"].map((ip) => serviceOf(k8s, ip))).toStrictEqual([
        "api.payments.example",
        "api.payments.example",
        undefined
      ])
    })
  )

  it.live("follows entries that change and go (watch MODIFIED, DELETED)", () =>
    Effect.gen(function* () {
      const api = yield* fakeApi
      api.put("serviceentries", serviceEntry("vm", { resolution: "STATIC", addresses: ["192.0.2.1", "198.51.100.0/24"] }))
      api.put("serviceentries", serviceEntry("lab", { resolution: "STATIC", addresses: ["10.99.0.0/16"] }))
      const k8s = yield* startK8sMesh(api)
      yield* eventually(
        () => serviceOf(k8s, "192.0.2.1"),
        (s) => s === "vm.example.com"
      )
      // Looked up (and remembered) before the entries change.
      expect([serviceOf(k8s, "198.51.100.9"), serviceOf(k8s, "203.0.113.9")]).toStrictEqual(["vm.example.com", undefined])
      api.put("serviceentries", serviceEntry("lab", { resolution: "STATIC", addresses: ["10.99.0.0/16", "203.0.113.0/24"] }))
      yield* eventually(
        () => serviceOf(k8s, "203.0.113.9"),
        (s) => s === "lab.example.com"
      )
      api.put("serviceentries", serviceEntry("vm", { resolution: "STATIC", addresses: ["192.0.2.2"] }))
      yield* eventually(
        () => [serviceOf(k8s, "192.0.2.1"), serviceOf(k8s, "192.0.2.2"), serviceOf(k8s, "198.51.100.9")],
        ([a, b, c]) => a === undefined && b === "vm.example.com" && c === undefined
      )
      api.delete("serviceentries", "default", "vm")
      yield* eventually(
        () => serviceOf(k8s, "192.0.2.2"),
        (s) => s === undefined
      )
    })
  )

  it.live("names entries by a configured rule: SkyWalking's default, over `serviceEntry`", () =>
    Effect.gen(function* () {
      const api = yield* fakeApi
      api.put("serviceentries", serviceEntry("db", { namespace: "data", resolution: "STATIC", addresses: ["192.0.2.10"] }))
      const k8s = yield* startK8sMesh(api, {
        MESHSIGHT_ISTIO_SERVICE_NAME_RULE: "${serviceEntry.metadata.name}.${serviceEntry.metadata.namespace}"
      })
      yield* eventually(
        () => serviceOf(k8s, "192.0.2.10"),
        (s) => s === "db.data"
      )
    })
  )

  it.live("works without the ServiceEntry CRD: says so once, is ready, names pods", () =>
    Effect.gen(function* () {
      const api = yield* fakeApi
      api.absent.add("serviceentries")
      putWorkload(api, "reviews-1", "10.0.0.1")
      const logs: Array<string> = []
      const capture = Logger.make((o) => void logs.push(Array.isArray(o.message) ? o.message.join(" ") : String(o.message)))
      const k8s = yield* startK8sMesh(api).pipe(Effect.provide(Logger.layer([capture])))
      yield* eventually(
        () => k8s.isReady(),
        (ready) => ready
      )
      expect(serviceOf(k8s, "10.0.0.1")).toBe("reviews")
      yield* Effect.sleep("300 millis") // time for any retry to show
      const missing = logs.filter((l) => l.includes("serviceentries"))
      expect(missing).toStrictEqual([
        "k8s-mesh: the API server does not serve serviceentries (no such resource type); going on without them"
      ])
      expect(api.requests.filter((r) => r.startsWith("/apis/networking.istio.io/")).length, "listed once, not retried with backoff").toBe(1)
      expect(logs.some((l) => l.includes("k8s-mesh synced: 1 pods (1 IPs), 1 services, 1 endpoint slices, 0 service entries"))).toBe(true)
    })
  )

  it.live("picks up the CRD once it is installed, looking again quietly meanwhile", () =>
    Effect.gen(function* () {
      const api = yield* fakeApi
      api.absent.add("serviceentries")
      const logs: Array<string> = []
      const capture = Logger.make((o) => void logs.push(Array.isArray(o.message) ? o.message.join(" ") : String(o.message)))
      const k8s = yield* startK8sMesh(api, {}, { missingKindRecheck: "50 millis" }).pipe(Effect.provide(Logger.layer([capture])))
      yield* eventually(
        () => k8s.isReady(),
        (ready) => ready
      )
      const seLists = () => api.requests.filter((r) => r.startsWith("/apis/networking.istio.io/")).length
      yield* eventually(seLists, (n) => n >= 3)
      api.absent.delete("serviceentries")
      api.put("serviceentries", serviceEntry("vm", { addresses: ["192.0.2.1"] }))
      yield* eventually(
        () => serviceOf(k8s, "192.0.2.1"),
        (s) => s === "vm.example.com"
      )
      expect(logs.filter((l) => l.includes("serviceentries") && !l.includes("listed again"))).toStrictEqual([
        "k8s-mesh: the API server does not serve serviceentries (no such resource type); going on without them",
        "k8s-mesh: serviceentries are served now; watching them"
      ])
    })
  )
})
