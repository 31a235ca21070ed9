// k8s-mesh: identities from the Kubernetes API. Each address of an entry → the pod that held it when the entry
// started → the Service it belongs to → names (DESIGN.md §4). The cluster is mirrored by list/watch of Pods,
// Services and EndpointSlices, each supervised in its own fiber for the life of the analyzer's Scope.
import type { KubeConfig } from "@kubernetes/client-node"
import { Clock, Effect, Schedule } from "effect"
import type { AccessLog } from "../../domain/access-log.ts"
import { entryAddresses } from "../../domain/addresses.ts"
import type { EntrySides } from "../../domain/identity.ts"
import type { ReportingNode } from "../../domain/node.ts"
import { AppConfig } from "../../config.ts"
import type { Analyzer } from "../identity-resolver.ts"
import { compileTemplate } from "../name-template.ts"
import { ClusterIndex } from "./cluster-index.ts"
import type { ResourceStore } from "./resource-store.ts"
import { kubeClients, loadKubeConfig } from "./kube-client.ts"
import { projectEndpointSlice, projectPod, projectService } from "./projection.ts"
import { type ResourceClient, type ResourceName, superviseResource, watchRetrySchedule } from "./resource-sync.ts"

export interface K8sMeshOptions {
  /** Backoff between failed list/watch attempts. */
  readonly retrySchedule?: Schedule.Schedule<unknown, unknown>
}

/** The analyzer over given clients (the real ones, or stubs): starts the watches in the current Scope. */
export const makeK8sMeshAnalyzer = (clients: Record<ResourceName, ResourceClient>, options: K8sMeshOptions = {}) =>
  Effect.gen(function*() {
    const config = yield* AppConfig
    const clock = yield* Clock.Clock
    const index = new ClusterIndex(
      { service: compileTemplate(config.k8sServiceNameRule), instance: compileTemplate(config.k8sInstanceNameRule) },
      () => clock.currentTimeMillisUnsafe()
    )
    const startedMs = clock.currentTimeMillisUnsafe()
    const listed = new Set<ResourceName>()
    const onListed = (resource: ResourceName) => () =>
      Effect.suspend(() => {
        if (listed.has(resource)) return Effect.logInfo(`k8s-mesh: ${resource} listed again`)
        listed.add(resource)
        if (listed.size < 3) return Effect.void
        const ms = clock.currentTimeMillisUnsafe() - startedMs
        return Effect.logInfo(
          `k8s-mesh synced: ${index.podCount} pods (${index.ipCount} IPs), ${index.serviceCount} services, ` +
            `${index.sliceCount} endpoint slices in ${ms} ms`
        )
      })
    const schedule = options.retrySchedule ?? watchRetrySchedule()
    const supervise = <V>(resource: ResourceName, project: (o: unknown) => V, store: ResourceStore<V>) =>
      Effect.forkScoped(
        superviseResource({ resource, client: clients[resource], project, store, onListed: onListed(resource) }, schedule)
      )
    yield* supervise("pods", projectPod, index.podStore)
    yield* supervise("services", projectService, index.serviceStore)
    yield* supervise("endpointslices", projectEndpointSlice, index.sliceStore)

    const analyzer: Analyzer = {
      name: "k8s-mesh",
      // Until every kind has been listed once, an unknown could just mean "not loaded yet".
      isReady: () => listed.size === 3,
      forStream: (node: ReportingNode) => ({
        fill: (entries: ReadonlyArray<AccessLog>, sides: ReadonlyArray<EntrySides>) => {
          // An entry without a start time (Envoy always sets one) is taken as happening now.
          const now = clock.currentTimeMillisUnsafe()
          for (let i = 0; i < entries.length; i++) {
            const e = entries[i]
            const s = sides[i]
            if (s.local !== undefined && s.downstream !== undefined && s.upstream !== undefined) continue // an earlier analyzer named all
            const at = e.common.startTimeMs > 0 ? e.common.startTimeMs : now
            const a = entryAddresses(node, e)
            if (s.local === undefined && a.local !== undefined) s.local = index.lookup(a.local.ip, at)
            if (s.downstream === undefined && a.downstream !== undefined) s.downstream = index.lookup(a.downstream.ip, at)
            if (s.upstream === undefined && a.upstream !== undefined) s.upstream = index.lookup(a.upstream.ip, at)
          }
        }
      })
    }
    return analyzer
  })

/** The analyzer with credentials found the standard way (see ./kube-client.ts). */
export const k8sMeshAnalyzer = Effect.flatMap(loadKubeConfig, (kc: KubeConfig) => makeK8sMeshAnalyzer(kubeClients(kc)))
