// An identity analyzer backed by a fixed IP → workload table: the stand-in for a Kubernetes cluster that
// SkyWalking's own envoy-receiver tests use too. Looks up the same addresses k8s-mesh does.
import { Layer } from "effect"
import { entryAddresses } from "../../src/domain/addresses.ts"
import type { WorkloadIdentity } from "../../src/domain/identity.ts"
import type { Analyzer } from "../../src/identity/identity-resolver.ts"
import { K8sMesh } from "../../src/identity/k8s-mesh/k8s-mesh.ts"

export const workload = (service: string, namespace = "default", instance = `${service}-0`): WorkloadIdentity => ({
  service,
  instance,
  namespace,
  labels: { app: service }
})

export const ipTableAnalyzer = (name: string, table: Readonly<Record<string, WorkloadIdentity>>): Analyzer => ({
  name,
  isReady: () => true,
  reads: { addresses: true, filterState: false },
  forStream: (node) => ({
    fill: (entries, sides) => {
      entries.forEach((e, i) => {
        const a = entryAddresses(node, e)
        const s = sides[i]
        s.local ??= a.local && table[a.local.ip]
        s.downstream ??= a.downstream && table[a.downstream.ip]
        s.upstream ??= a.upstream && table[a.upstream.ip]
      })
    }
  })
})

/** The cluster of test/testdata/README.md: the four bookinfo pods of the captured messages. */
export const FIXTURE_CLUSTER: Readonly<Record<string, WorkloadIdentity>> = {
  "10.44.2.56": workload("ingress", "istio-system"),
  "10.44.2.54": workload("productpage"),
  "10.44.6.66": workload("detail"),
  "10.44.2.55": workload("review")
}

/** The fixtures' cluster in place of the real k8s-mesh: a Layer of the k8s-mesh service. */
export const fixtureClusterK8sMesh = Layer.succeed(K8sMesh, ipTableAnalyzer("k8s-mesh", FIXTURE_CLUSTER))
