// cluster_name as SkyWalking derives it: its ClusterManagerMetricsAdapter puts the cluster's name, namespace and
// subset into a metadata Struct shaped like a node's (LABELS with the canonical-name, app.kubernetes.io/name and
// app keys, NAMESPACE) and names it with the service naming rule. With the default rule `…${NAMESPACE}` an
// outbound cluster to reviews.default.svc.cluster.local is `reviews.default` (the name its service has in the
// topology) and an inbound one `inbound:9080.-`.
import type { JsonObject } from "../domain/access-log.ts"
import { identityFromMetadata } from "../identity/mx-mesh/mx-mesh-analyzer.ts"
import type { Naming } from "../identity/name-template.ts"
import { type ClusterRef, clusterRef } from "./envoy-rules.ts"
import { BoundedMemo } from "../util/bounded-memo.ts"

/** A cluster family's cluster_name; undefined when the naming rule names nothing. */
export interface NamedCluster {
  readonly name: string | undefined
  readonly outbound: boolean
}

/**
 * Every flush repeats the same family names (interned by the wire reader, so their hashes are cached): each is
 * parsed and named once. The cache is emptied if it ever grows past this.
 */
const CACHE_LIMIT = 200_000

/** Family name → its cluster, named by the naming rule; undefined for a family that names no cluster. */
export const makeClusterNamer = (naming: Naming) => {
  const cache = new BoundedMemo<string, NamedCluster | null>(CACHE_LIMIT)
  const nameOf = (cluster: ClusterRef): string | undefined => {
    const metadata: JsonObject = {
      NAME: "-", // the instance rule must name something; only the service name is used
      NAMESPACE: cluster.namespace,
      LABELS: {
        "service.istio.io/canonical-name": cluster.name,
        "app.kubernetes.io/name": cluster.name,
        app: cluster.name,
        "service.istio.io/canonical-revision": cluster.version,
        version: cluster.version
      }
    }
    return identityFromMetadata(metadata, naming)?.service
  }
  return (family: string): NamedCluster | undefined => {
    let named = cache.get(family)
    if (named === undefined) {
      const ref = clusterRef(family)
      named = cache.set(family, ref === undefined ? null : { name: nameOf(ref), outbound: ref.outbound })
    }
    return named ?? undefined
  }
}
