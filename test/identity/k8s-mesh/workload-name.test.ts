// k8s-mesh's workload name for the Istio-standard labels (`source_workload`, `destination_workload`): the pod's
// controlling owner, with a Deployment's ReplicaSet hash taken off, as Istio names workloads.
import { describe, expect, it } from "vitest"
import { projectPod } from "../../../src/identity/k8s-mesh/projection.ts"

const pod = (name: string, labels: Record<string, string>, ownerReferences?: Array<Record<string, unknown>>) =>
  projectPod({
    metadata: { name, namespace: "default", uid: name, labels, ...(ownerReferences ? { ownerReferences } : {}) },
    status: { podIP: "10.0.0.1" }
  })

describe("k8s-mesh workload names", () => {
  it("a Deployment's pod: the ReplicaSet without its pod-template-hash", () => {
    const p = pod("reviews-v1-7f9c8d5b4-x2x9z", { app: "reviews", "pod-template-hash": "7f9c8d5b4" }, [
      { kind: "ReplicaSet", name: "reviews-v1-7f9c8d5b4", controller: true }
    ])
    expect(p.workload).toBe("reviews-v1")
  })

  it("a StatefulSet's pod: the StatefulSet; the controller wins over other owners", () => {
    expect(
      pod("mysql-0", {}, [
        { kind: "ConfigMap", name: "x" },
        { kind: "StatefulSet", name: "mysql", controller: true }
      ]).workload
    ).toBe("mysql")
  })

  it("a bare pod: its own name", () => {
    expect(pod("debug", {}).workload).toBe("debug")
  })
})
