// k8s-mesh: identities from the Kubernetes API. Each address of an entry → the pod that held it when the entry
// started → the Service it belongs to → names (docs/design.md §4); an address an Istio ServiceEntry declares is named
// by the entry first. The cluster is mirrored by list/watch of Pods, Services, EndpointSlices and ServiceEntries,
// each supervised in its own fiber for the life of the analyzer's Scope.
import type { KubeConfig } from "@kubernetes/client-node"
import { Clock, type Duration, Effect, Layer, type Schedule } from "effect"
import type { AccessLog, Address } from "../../domain/access-log.ts"
import { entryAddresses } from "../../domain/addresses.ts"
import type { EntrySides } from "../../domain/identity.ts"
import type { ReportingNode } from "../../domain/node.ts"
import { type TallyCounter, tallyReporter, unresolvableAddresses } from "../../telemetry.ts"
import { settingsConfig } from "../../util/setting.ts"
import type { Analyzer } from "../identity-resolver.ts"
import { compileTemplate } from "../name-template.ts"
import { ClusterIndex } from "./cluster-index.ts"
import type { ResourceStore } from "./resource-store.ts"
import { ServiceEntryIndex } from "./service-entries.ts"
import { istioServiceNameRule, K8sMesh, k8sInstanceNameRule, k8sServiceNameRule } from "./k8s-mesh.ts"
import { kubeClients, loadKubeConfig } from "./kube-client.ts"
import { projectEndpointSlice, projectPod, projectService, projectServiceEntry } from "./projection.ts"
import {
  MISSING_KIND_RECHECK,
  type ResourceClient,
  type ResourceName,
  type ResourceSync,
  superviseResource,
  watchRetrySchedule
} from "./resource-sync.ts"

/** Pods, Services, EndpointSlices, ServiceEntries: each listed once (or found missing) makes the analyzer ready. */
const KINDS = 4

/** A message's Envoy internal addresses, by the side they stood for. */
interface InternalAddresses {
  local: number
  source: number
  destination: number
}
const INTERNAL_COUNTERS: ReadonlyArray<TallyCounter<InternalAddresses>> = [
  [unresolvableAddresses, { side: "local", reason: "envoy_internal" }, (c) => c.local],
  [unresolvableAddresses, { side: "source", reason: "envoy_internal" }, (c) => c.source],
  [unresolvableAddresses, { side: "destination", reason: "envoy_internal" }, (c) => c.destination]
]

export interface K8sMeshOptions {
  /** Backoff between failed list/watch attempts. */
  readonly retrySchedule?: Schedule.Schedule<unknown, unknown>
  /** How often a missing ServiceEntry CRD is looked for again (default MISSING_KIND_RECHECK). */
  readonly missingKindRecheck?: Duration.Input
}

/** The analyzer over given clients (the real ones, or stubs): starts the watches in the current Scope. */
export const makeK8sMeshAnalyzer = (clients: Record<ResourceName, ResourceClient>, options: K8sMeshOptions = {}) =>
  Effect.gen(function* () {
    const config = yield* settingsConfig({ k8sServiceNameRule, k8sInstanceNameRule, istioServiceNameRule })
    const clock = yield* Clock.Clock
    const index = new ClusterIndex(
      { service: compileTemplate(config.k8sServiceNameRule), instance: compileTemplate(config.k8sInstanceNameRule) },
      () => clock.currentTimeMillisUnsafe()
    )
    // The counters are updated synchronously from `fill`, with the context captured here.
    const reportInternal = tallyReporter(yield* Effect.context<never>(), INTERNAL_COUNTERS)
    const serviceEntries = new ServiceEntryIndex(compileTemplate(config.istioServiceNameRule))
    /** ServiceEntries first, as SkyWalking: an entry may name an address a pod also has (a VM's, say). */
    const identify = (ip: string, atMs: number) => serviceEntries.lookup(ip) ?? index.lookup(ip, atMs)
    const startedMs = clock.currentTimeMillisUnsafe()
    const listed = new Set<ResourceName>()
    const onListed = (resource: ResourceName) => () =>
      Effect.suspend(() => {
        if (listed.has(resource)) return Effect.logInfo(`k8s-mesh: ${resource} listed again`)
        listed.add(resource)
        if (listed.size < KINDS) return Effect.void
        const ms = clock.currentTimeMillisUnsafe() - startedMs
        return Effect.logInfo(
          `k8s-mesh synced: ${index.podCount} pods (${index.ipCount} IPs), ${index.serviceCount} services, ` +
            `${index.sliceCount} endpoint slices, ${serviceEntries.entryCount} service entries in ${ms} ms`
        )
      })
    const schedule = options.retrySchedule ?? watchRetrySchedule()
    const supervise = <V>(
      resource: ResourceName,
      project: (o: unknown) => V,
      store: ResourceStore<V>,
      optional?: ResourceSync<V>["optional"]
    ) => {
      const sync: ResourceSync<V> = { resource, client: clients[resource], project, store, onListed: onListed(resource) }
      return Effect.forkScoped(superviseResource(optional === undefined ? sync : { ...sync, optional }, schedule))
    }
    yield* supervise("pods", projectPod, index.podStore)
    yield* supervise("services", projectService, index.serviceStore)
    yield* supervise("endpointslices", projectEndpointSlice, index.sliceStore)
    // Istio's CRD: a cluster without it answers 404, which counts as listed (nothing to name) and does not block readiness.
    yield* supervise("serviceentries", projectServiceEntry, serviceEntries.store, {
      recheck: options.missingKindRecheck ?? MISSING_KIND_RECHECK
    })

    const analyzer: Analyzer = {
      name: "k8s-mesh",
      // Until every kind has been listed once, an unknown could just mean "not loaded yet".
      isReady: () => listed.size === KINDS,
      // It names workloads by the IPs of each entry's addresses.
      reads: { addresses: true, filterState: false },
      forStream: (node: ReportingNode) => ({
        fill: (entries: ReadonlyArray<AccessLog>, sides: ReadonlyArray<EntrySides>) => {
          // An entry without a start time (Envoy always sets one) is taken as happening now.
          const now = clock.currentTimeMillisUnsafe()
          const internal: InternalAddresses = { local: 0, source: 0, destination: 0 }
          /** An Envoy internal address (envoy://…) is a hop inside the proxy, never an IP: unknown, counted. */
          const resolve = (address: Address | undefined, at: number, side: keyof typeof internal) => {
            if (address === undefined) return undefined
            if (address.internal === undefined) return identify(address.ip, at)
            internal[side]++
            return undefined
          }
          for (let i = 0; i < entries.length; i++) {
            const e = entries[i]
            const s = sides[i]
            if (s.local !== undefined && s.downstream !== undefined && s.upstream !== undefined) continue // an earlier analyzer named all
            const at = e.common.startTimeMs > 0 ? e.common.startTimeMs : now
            const a = entryAddresses(node, e)
            if (s.local === undefined) s.local = resolve(a.local, at, "local")
            if (s.downstream === undefined) s.downstream = resolve(a.downstream, at, "source")
            if (s.upstream === undefined) s.upstream = resolve(a.upstream, at, "destination")
          }
          reportInternal(internal)
        }
      })
    }
    return analyzer
  })

/** The analyzer with credentials found the standard way (see ./kube-client.ts). */
export const make = Effect.flatMap(loadKubeConfig, (kc: KubeConfig) => makeK8sMeshAnalyzer(kubeClients(kc)))

/** The analyzer for the life of the Layer: its watches stop when the Layer's scope closes. */
export const layer = Layer.effect(K8sMesh, make)
