// The IP index in isolation, on a clock the test moves: who held an IP at a moment, through deletions, reuse,
// relists and the end of retention.
import { describe, expect, it } from "@effect/vitest"
import { CLOCK_SKEW_MS, ClusterIndex, ENDED_POD_RETENTION_MS } from "../../../src/identity/k8s-mesh/cluster-index.ts"
import { projectEndpointSlice, projectPod, projectService } from "../../../src/identity/k8s-mesh/projection.ts"
import { compileTemplate } from "../../../src/identity/name-template.ts"
import { endpointSlice, pod, service } from "../../../testkit/cluster-objects.ts"

const T0 = Date.parse("2024-01-01T00:00:00Z")

const cluster = () => {
  const clock = { now: T0 }
  const index = new ClusterIndex(
    { service: compileTemplate("${service.metadata.name}"), instance: compileTemplate("${pod.metadata.name}.${pod.metadata.namespace}") },
    () => clock.now
  )
  for (const app of ["a", "b"]) {
    index.serviceStore.upsert(projectService(service(app, { selector: { app } })))
  }
  const startPod = (name: string, ip: string, startMs: number, uid = `uid-${name}`) =>
    index.podStore.upsert(projectPod(pod(name, { ips: [ip], uid, startTime: new Date(startMs).toISOString() })))
  return { clock, index, startPod, who: (ip: string, at: number) => index.lookup(ip, at)?.instance }
}

describe("k8s-mesh IP index", () => {
  it("prefers the newer pod when it takes the IP before the old one's deletion is seen", () => {
    const { clock, index, startPod, who } = cluster()
    startPod("a-1", "10.0.0.1", T0)
    startPod("b-1", "10.0.0.1", T0 + 60_000) // a-1 is still listed
    expect([who("10.0.0.1", T0 + 30_000), who("10.0.0.1", T0 + 61_000)]).toStrictEqual(["a-1.default", "b-1.default"])
    clock.now = T0 + 90_000
    index.podStore.remove(projectPod(pod("a-1")))
    expect([who("10.0.0.1", T0 + 30_000), who("10.0.0.1", T0 + 91_000)]).toStrictEqual(["a-1.default", "b-1.default"])
  })

  it("allows clock skew only where no tenure covers the moment", () => {
    const { startPod, who } = cluster()
    startPod("a-1", "10.0.0.1", T0)
    expect(who("10.0.0.1", T0 - CLOCK_SKEW_MS)).toBe("a-1.default")
    expect(who("10.0.0.1", T0 - CLOCK_SKEW_MS - 1)).toBeUndefined()
  })

  it("forgets an ended pod once retention is over, and names it as it was until then", () => {
    const { clock, index, startPod, who } = cluster()
    startPod("a-1", "10.0.0.1", T0)
    clock.now = T0 + 10_000
    index.podStore.remove(projectPod(pod("a-1")))
    // Its Service goes too: the ended pod keeps the name it had.
    index.serviceStore.remove(projectService(service("a")))
    expect(index.lookup("10.0.0.1", T0 + 5_000)?.service).toBe("a")
    clock.now = T0 + 10_000 + ENDED_POD_RETENTION_MS
    startPod("b-1", "10.0.0.2", clock.now) // any change lets the index drop what expired
    expect(who("10.0.0.1", T0 + 5_000)).toBeUndefined()
    expect(index.ipCount).toBe(1)
  })

  it("on a relist, ends pods that are gone and replaces a pod recreated under the same name", () => {
    const { clock, index, startPod, who } = cluster()
    startPod("a-0", "10.0.0.1", T0)
    startPod("b-0", "10.0.0.2", T0)
    clock.now = T0 + 100_000
    // While the watch was down: b-0 was deleted; a-0 was recreated (new uid) with a new IP.
    index.podStore.replaceAll([projectPod(pod("a-0", { ips: ["10.0.0.3"], uid: "uid-2", startTime: new Date(T0 + 50_000).toISOString() }))])
    expect([
      who("10.0.0.1", T0 + 10_000),
      who("10.0.0.1", T0 + 100_000),
      who("10.0.0.2", T0 + 100_000),
      who("10.0.0.3", T0 + 100_000)
    ]).toStrictEqual(["a-0.default", undefined, undefined, "a-0.default"])
    expect(index.podCount).toBe(1)
  })

  it("keeps a pod's Service when its slice arrives before the pod, and when one of two slices goes", () => {
    const { index, startPod } = cluster()
    index.sliceStore.upsert(projectEndpointSlice(endpointSlice("b", { "x-1": "10.0.0.9" }, { name: "b-v4" })))
    index.sliceStore.upsert(projectEndpointSlice(endpointSlice("b", { "x-1": "fd00::9" }, { name: "b-v6" })))
    startPod("x-1", "10.0.0.9", T0) // labels app=x: only the slices make it part of b
    expect(index.lookup("10.0.0.9", T0)?.service).toBe("b")
    index.sliceStore.remove(projectEndpointSlice(endpointSlice("b", {}, { name: "b-v6" })))
    expect(index.lookup("10.0.0.9", T0)?.service).toBe("b")
    index.sliceStore.remove(projectEndpointSlice(endpointSlice("b", {}, { name: "b-v4" })))
    expect(index.lookup("10.0.0.9", T0), "a pod in no Service is unknown, as SkyWalking").toBeUndefined()
  })
})

describe("k8s-mesh identities", () => {
  it("stay the same object while a namespace's slices churn without renaming anyone", () => {
    const { index, startPod } = cluster()
    startPod("a-1", "10.0.0.1", T0)
    const before = index.lookup("10.0.0.1", T0)
    index.sliceStore.upsert(projectEndpointSlice(endpointSlice("b", { "b-1": "10.0.0.2" })))
    expect(index.lookup("10.0.0.1", T0)).toBe(before)
    index.serviceStore.upsert(projectService(service("a", { selector: { app: "nobody" } })))
    expect(index.lookup("10.0.0.1", T0), "renamed (here: to unknown) when it does change").toBeUndefined()
  })
})
