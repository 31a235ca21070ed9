// cluster_name as SkyWalking derives it: its ClusterManagerMetricsAdapter puts the cluster's name, namespace and
// subset into a metadata Struct shaped like a node's (LABELS with the canonical-name, app.kubernetes.io/name and
// app keys, NAMESPACE) and names it with the service naming rule. With the default rule `…${NAMESPACE}` an
// outbound cluster to reviews.default.svc.cluster.local is `reviews.default` (the name its service has in the
// topology) and an inbound one `inbound:9080.-`.
import type { JsonObject } from "../domain/access-log.ts"
import { identityFromMetadata } from "../identity/mx-mesh/mx-mesh-analyzer.ts"
import type { Naming } from "../identity/name-template.ts"
import type { ClusterRef } from "./envoy-rules.ts"

/** Distinct clusters are few (one per upstream service and port); the cache is emptied if it ever grows past this. */
const CACHE_LIMIT = 50_000

export const makeClusterNamer = (naming: Naming) => {
  const cache = new Map<string, string | undefined>()
  return (cluster: ClusterRef): string | undefined => {
    if (cache.has(cluster.key)) return cache.get(cluster.key)
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
    const name = identityFromMetadata(metadata, naming)?.service
    if (cache.size >= CACHE_LIMIT) cache.clear()
    cache.set(cluster.key, name)
    return name
  }
}
