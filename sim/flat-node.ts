// Encodes Istio's (< 1.24) FlatBuffer `FlatNode` peer metadata, to build `wasm.*_peer` filter state as older
// Istio proxies log it. Used by the tests and the simulator.
import { Builder } from "flatbuffers"
import type { Workload } from "./istio-entries.ts"

/** FlatNode { name, namespace, labels: [KeyVal], owner, workload_name, platform_metadata, istio_version, mesh_id, app_containers, cluster_id } */
export const encodeFlatNode = (w: Workload, istioVersion = w.istioVersion ?? "1.22.0"): Uint8Array => {
  const b = new Builder(256)
  const keyVals = Object.entries(w.labels).map(([k, v]) => {
    const key = b.createString(k)
    const value = b.createString(v)
    b.startObject(2)
    b.addFieldOffset(0, key, 0)
    b.addFieldOffset(1, value, 0)
    return b.endObject()
  })
  b.startVector(4, keyVals.length, 4)
  for (let i = keyVals.length - 1; i >= 0; i--) b.addOffset(keyVals[i])
  const labels = b.endVector()
  const name = b.createString(w.name)
  const namespace = b.createString(w.namespace)
  const owner = b.createString(`kubernetes://apis/apps/v1/namespaces/${w.namespace}/deployments/${w.workloadName}`)
  const workloadName = b.createString(w.workloadName)
  const version = b.createString(istioVersion)
  const meshId = b.createString(w.meshId ?? "cluster.local")
  const clusterId = b.createString(w.clusterId ?? "Kubernetes")
  b.startObject(10)
  b.addFieldOffset(0, name, 0)
  b.addFieldOffset(1, namespace, 0)
  b.addFieldOffset(2, labels, 0)
  b.addFieldOffset(3, owner, 0)
  b.addFieldOffset(4, workloadName, 0)
  b.addFieldOffset(6, version, 0)
  b.addFieldOffset(7, meshId, 0)
  b.addFieldOffset(9, clusterId, 0)
  b.finish(b.endObject())
  return b.asUint8Array()
}

/** `wasm.upstream_peer` / `wasm.downstream_peer`: an Any wrapping a BytesValue that holds the FlatNode. */
export const legacyPeerFilterState = (w: Workload): Record<string, unknown> => ({
  "@type": "type.googleapis.com/google.protobuf.BytesValue",
  value: Buffer.from(encodeFlatNode(w)).toString("base64")
})
