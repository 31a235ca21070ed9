// k8s-mesh's view of the cluster: projected pods, services and endpoint slices, and the IP index that answers
// "which workload held this IP at this moment". Plain synchronous data: the watches write it, `fill` reads it.
import type { WorkloadIdentity } from "../../domain/identity.ts"
import type { Naming } from "../name-template.ts"
import {
  type EndpointSliceView,
  type Labels,
  listOf,
  objectKey,
  type OneOrMore,
  type PodView,
  type ServiceView
} from "./projection.ts"

/** One kind of object as the list/watch loop feeds it: a full list replaces, events update one object. */
export interface ResourceStore<V> {
  readonly replaceAll: (items: ReadonlyArray<V>) => void
  readonly upsert: (item: V) => void
  readonly remove: (item: V) => void
}

/**
 * How long a pod that gave up its IPs still answers for entries that started while it held them. Envoy flushes
 * its buffer every second, so entries arrive seconds after they end; an older entry of an IP that changed hands
 * resolves to unknown rather than to the wrong pod.
 */
export const ENDED_POD_RETENTION_MS = 5 * 60_000
/** Entry start times come from the proxy's node clock, pod start times from the kubelet's: allow some skew. */
export const CLOCK_SKEW_MS = 2_000

interface PodRecord {
  /** `namespace/name`: the same string keys `pods`. */
  readonly key: string
  readonly namespace: string
  /** A hash of the uid: enough to tell a recreated pod of the same name, at a fraction of the uid's size. */
  readonly uidHash: number
  labels: Labels
  ips: OneOrMore
  readonly workload: string
  readonly sinceMs: number
  /** Undefined while the pod holds its IPs. */
  endedMs: number | undefined
  /** Keys of the Services whose slices list the pod, once per slice (dual-stack Services have two). */
  services: OneOrMore | undefined
  /** Cached identity (null: no Service, so unknown), valid while `generation` matches its namespace's. */
  identity: WorkloadIdentity | null | undefined
  generation: number
}

interface ServiceRecord {
  readonly view: ServiceView
  /** The last service name made from this Service: pods of one Service share the string. */
  lastName: string | undefined
  /** The template variable: only what the projection keeps. */
  readonly vars: { readonly metadata: { readonly name: string; readonly namespace: string; readonly labels: Labels } }
}

/** Shares equal label maps between pods (pods of one ReplicaSet carry the same labels), counting their users. */
class LabelInterner {
  private readonly byKey = new Map<string, { readonly labels: Labels; refs: number }>()
  acquire(labels: Labels): Labels {
    // The API server serialises maps with sorted keys, so equal maps give equal strings.
    const key = JSON.stringify(labels)
    const entry = this.byKey.get(key)
    if (entry !== undefined) {
      entry.refs++
      return entry.labels
    }
    this.byKey.set(key, { labels, refs: 1 })
    return labels
  }
  release(labels: Labels): void {
    const key = JSON.stringify(labels)
    const entry = this.byKey.get(key)
    if (entry !== undefined && --entry.refs === 0) this.byKey.delete(key)
  }
}

const withKey = (keys: OneOrMore | undefined, key: string): OneOrMore =>
  keys === undefined ? key : [...listOf(keys), key]

/** Without one occurrence of `key` (a pod is listed once per slice). */
const withoutKey = (keys: OneOrMore | undefined, key: string): OneOrMore | undefined => {
  const list = listOf(keys)
  const at = list.indexOf(key)
  if (at < 0) return keys
  const rest = list.filter((_, i) => i !== at)
  return rest.length > 1 ? rest : rest[0]
}


/** FNV-1a, cut to 30 bits so V8 keeps it as a small integer rather than a boxed number. */
const hash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h & 0x3fffffff
}

const heldAt = (h: PodRecord, atMs: number, skewMs: number): boolean =>
  h.sinceMs - skewMs <= atMs && (h.endedMs === undefined || atMs < h.endedMs)

const sameIdentity = (a: WorkloadIdentity | null, b: WorkloadIdentity | null | undefined): boolean =>
  a === null || b == null
    ? a === b
    : a.service === b.service && a.instance === b.instance && a.namespace === b.namespace && a.labels === b.labels

const selects = (selector: Labels, labels: Labels): boolean => {
  for (const k in selector) if (labels[k] !== selector[k]) return false
  return true
}

const sameLabels = (a: Labels, b: Labels): boolean => Object.keys(a).length === Object.keys(b).length && selects(a, b)

const sameNames = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean =>
  a.length === b.length && a.every((name, i) => name === b[i])

export class ClusterIndex {
  private readonly pods = new Map<string, PodRecord>()
  /** IP → the pods that held it recently (usually one); ended ones stay for ENDED_POD_RETENTION_MS. */
  private readonly ipHolders = new Map<string, PodRecord | Array<PodRecord>>()
  /** Ended pods in the order they ended, to drop them from the IP index once retention is over. */
  private readonly ended: Array<PodRecord> = []
  private readonly services = new Map<string, ServiceRecord>()
  /** Namespace → its Services that have a selector, for pods no slice names. */
  private readonly selectorServices = new Map<string, Map<string, ServiceRecord>>()
  /** One copy of each namespace name, shared by the pods in it. */
  private readonly namespaces = new Map<string, string>()
  private readonly slices = new Map<string, EndpointSliceView>()
  /** Service key → how many slices it has; a Service with none is matched by its selector instead. */
  private readonly slicesPerService = new Map<string, number>()
  /** Service memberships of pods not indexed (yet, or any more): slices and pods are watched separately. */
  private readonly pendingServices = new Map<string, OneOrMore>()
  /** Bumped when a namespace's Services or slices change: cached identities there are then recomputed. */
  private readonly generations = new Map<string, number>()
  private readonly labels = new LabelInterner()

  /** SkyWalking's k8sServiceNameRule and instance rule, over `pod` and `service` (metadata: name, namespace, labels). */
  private readonly naming: Naming
  private readonly now: () => number

  constructor(naming: Naming, now: () => number) {
    this.naming = naming
    this.now = now
  }

  get podCount(): number {
    return this.pods.size
  }
  get ipCount(): number {
    return this.ipHolders.size
  }
  get serviceCount(): number {
    return this.services.size
  }
  get sliceCount(): number {
    return this.slices.size
  }

  /** The workload that held `ip` at `atMs`, or undefined (unknown IPs, node IPs, pods with no Service). */
  lookup(ip: string, atMs: number): WorkloadIdentity | undefined {
    const holders = this.ipHolders.get(ip)
    if (holders === undefined) return undefined
    const holder = Array.isArray(holders)
      ? this.holderAt(holders, atMs, 0) ?? this.holderAt(holders, atMs, CLOCK_SKEW_MS)
      : heldAt(holders, atMs, CLOCK_SKEW_MS) ? holders : undefined
    return holder === undefined ? undefined : this.identityOf(holder) ?? undefined
  }

  /**
   * The newest holder whose tenure covers the moment: a successor may get the IP before the predecessor's
   * deletion is observed. Skew is allowed only when no tenure covers the moment exactly.
   */
  private holderAt(holders: ReadonlyArray<PodRecord>, atMs: number, skewMs: number): PodRecord | undefined {
    let best: PodRecord | undefined
    for (const h of holders) {
      if (heldAt(h, atMs, skewMs) && (best === undefined || h.sinceMs > best.sinceMs)) best = h
    }
    return best
  }

  readonly podStore: ResourceStore<PodView> = {
    replaceAll: (items) => this.replaceKeyed(this.pods, items, this.podStore),
    upsert: (p) => {
      const key = objectKey(p.namespace, p.name)
      let record = this.pods.get(key)
      // A new uid under the same name is a new pod (a StatefulSet's pods keep their names).
      if (record !== undefined && (record.uidHash !== hash(p.uid) || p.finished)) {
        this.endPod(record)
        record = undefined
      }
      if (p.finished || p.hostNetwork) return
      if (record === undefined) this.addPod(key, p)
      else this.updatePod(record, p)
      this.dropExpired()
    },
    remove: (p) => {
      const record = this.pods.get(objectKey(p.namespace, p.name))
      if (record !== undefined) this.endPod(record)
      this.dropExpired()
    }
  }

  readonly serviceStore: ResourceStore<ServiceView> = {
    replaceAll: (items) => this.replaceKeyed(this.services, items, this.serviceStore),
    upsert: (s) => {
      this.serviceStore.remove(s)
      const { name, namespace, labels } = s
      const record: ServiceRecord = { view: s, lastName: undefined, vars: { metadata: { name, namespace, labels } } }
      this.services.set(objectKey(namespace, name), record)
      if (s.selector === undefined) return
      const inNamespace = this.selectorServices.get(namespace)
      if (inNamespace === undefined) this.selectorServices.set(namespace, new Map([[name, record]]))
      else inNamespace.set(name, record)
    },
    remove: (s) => {
      this.bump(s.namespace)
      this.services.delete(objectKey(s.namespace, s.name))
      const inNamespace = this.selectorServices.get(s.namespace)
      if (inNamespace?.delete(s.name) && inNamespace.size === 0) this.selectorServices.delete(s.namespace)
    }
  }

  readonly sliceStore: ResourceStore<EndpointSliceView> = {
    replaceAll: (items) => this.replaceKeyed(this.slices, items, this.sliceStore),
    upsert: (s) => {
      // Most slice updates are endpoint readiness changes, which the view does not keep: then nothing changes
      // (and the namespace's cached identities stay valid).
      const old = this.slices.get(objectKey(s.namespace, s.name))
      if (old !== undefined && old.service === s.service && sameNames(old.podNames, s.podNames)) return
      this.sliceStore.remove(s)
      this.slices.set(objectKey(s.namespace, s.name), s)
      if (s.service === undefined) return
      const serviceKey = objectKey(s.namespace, s.service)
      this.slicesPerService.set(serviceKey, (this.slicesPerService.get(serviceKey) ?? 0) + 1)
      for (const pod of s.podNames) this.join(objectKey(s.namespace, pod), serviceKey)
    },
    remove: (s) => {
      const key = objectKey(s.namespace, s.name)
      const old = this.slices.get(key)
      this.bump(s.namespace)
      if (old === undefined) return
      this.slices.delete(key)
      if (old.service === undefined) return
      const serviceKey = objectKey(old.namespace, old.service)
      const count = (this.slicesPerService.get(serviceKey) ?? 1) - 1
      if (count === 0) this.slicesPerService.delete(serviceKey)
      else this.slicesPerService.set(serviceKey, count)
      for (const pod of old.podNames) this.leave(objectKey(old.namespace, pod), serviceKey)
    }
  }

  private replaceKeyed<V extends { readonly name: string; readonly namespace: string }>(
    current: Map<string, unknown>,
    items: ReadonlyArray<V>,
    store: ResourceStore<V>
  ): void {
    const listed = new Set(items.map((i) => objectKey(i.namespace, i.name)))
    for (const key of [...current.keys()]) {
      if (listed.has(key)) continue
      const slash = key.indexOf("/")
      // Removal reads only the name and namespace.
      store.remove({ namespace: key.slice(0, slash), name: key.slice(slash + 1) } as V)
    }
    for (const item of items) store.upsert(item)
  }

  private shared(namespace: string): string {
    const existing = this.namespaces.get(namespace)
    if (existing !== undefined) return existing
    this.namespaces.set(namespace, namespace)
    return namespace
  }

  private join(podKey: string, serviceKey: string): void {
    const record = this.pods.get(podKey)
    if (record !== undefined) record.services = withKey(record.services, serviceKey)
    else this.pendingServices.set(podKey, withKey(this.pendingServices.get(podKey), serviceKey))
  }

  private leave(podKey: string, serviceKey: string): void {
    const record = this.pods.get(podKey)
    if (record !== undefined) {
      record.services = withoutKey(record.services, serviceKey)
      return
    }
    const rest = withoutKey(this.pendingServices.get(podKey), serviceKey)
    if (rest === undefined) this.pendingServices.delete(podKey)
    else this.pendingServices.set(podKey, rest)
  }

  private bump(namespace: string): void {
    this.generations.set(namespace, (this.generations.get(namespace) ?? 0) + 1)
  }

  private addPod(key: string, p: PodView): void {
    const record: PodRecord = {
      key,
      namespace: this.shared(p.namespace),
      uidHash: hash(p.uid),
      labels: this.labels.acquire(p.labels),
      ips: p.ips,
      workload: p.workload,
      sinceMs: p.sinceMs,
      endedMs: undefined,
      services: this.pendingServices.get(key),
      identity: undefined,
      generation: -1
    }
    this.pendingServices.delete(key)
    this.pods.set(key, record)
    for (const ip of listOf(p.ips)) this.hold(ip, record)
  }

  /** The same pod changed: labels may have, and a pending pod gets its IPs. */
  private updatePod(record: PodRecord, p: PodView): void {
    if (!sameLabels(record.labels, p.labels)) {
      this.labels.release(record.labels)
      record.labels = this.labels.acquire(p.labels)
      record.identity = undefined
    }
    const before = listOf(record.ips)
    const after = listOf(p.ips)
    for (const ip of before) if (!after.includes(ip)) this.unhold(ip, record)
    for (const ip of after) if (!before.includes(ip)) this.hold(ip, record)
    record.ips = p.ips
  }

  /** The pod gave up its IPs: keep its identity as it was, for entries that started before. */
  private endPod(record: PodRecord): void {
    record.identity = this.identityOf(record)
    record.endedMs = this.now()
    this.pods.delete(record.key)
    // A pod recreated under the same name (a StatefulSet's) is listed by the same slices.
    if (record.services !== undefined) this.pendingServices.set(record.key, record.services)
    this.labels.release(record.labels)
    this.ended.push(record)
  }

  private dropExpired(): void {
    const horizon = this.now() - ENDED_POD_RETENTION_MS
    let expired = 0
    while (expired < this.ended.length && this.ended[expired].endedMs! <= horizon) expired++
    if (expired === 0) return
    for (const record of this.ended.splice(0, expired)) for (const ip of listOf(record.ips)) this.unhold(ip, record)
  }

  private hold(ip: string, record: PodRecord): void {
    const holders = this.ipHolders.get(ip)
    if (holders === undefined) this.ipHolders.set(ip, record)
    else if (Array.isArray(holders)) holders.push(record)
    else this.ipHolders.set(ip, [holders, record])
  }

  private unhold(ip: string, record: PodRecord): void {
    const holders = this.ipHolders.get(ip)
    if (holders === record) this.ipHolders.delete(ip)
    else if (Array.isArray(holders)) {
      const rest = holders.filter((h) => h !== record)
      this.ipHolders.set(ip, rest.length === 1 ? rest[0] : rest)
    }
  }

  private identityOf(record: PodRecord): WorkloadIdentity | null {
    if (record.endedMs !== undefined) return record.identity ?? null
    const generation = this.generations.get(record.namespace) ?? 0
    if (record.identity === undefined || record.generation !== generation) {
      const named = this.nameWorkload(record)
      // Keep the same object when the names did not change: downstream stages memoise per identity object.
      if (!sameIdentity(named, record.identity)) record.identity = named
      record.generation = generation
    }
    return record.identity ?? null
  }

  /**
   * As SkyWalking: a pod is named only through a Service it belongs to; the rule's variables are `pod` and
   * `service`; if the rule finds no value, the Service's own name is the service name.
   */
  private nameWorkload(record: PodRecord): WorkloadIdentity | null {
    const service = this.serviceOf(record)
    if (service === undefined) return null
    const name = record.key.slice(record.namespace.length + 1)
    const vars = { pod: { metadata: { name, namespace: record.namespace, labels: record.labels } }, service: service.vars }
    const serviceName = this.naming.service(vars) ?? service.view.name
    if (serviceName !== service.lastName) service.lastName = serviceName
    const instance = this.naming.instance(vars)
    return {
      service: service.lastName,
      instance: instance ?? [name, record.namespace].join("."),
      namespace: record.namespace,
      labels: record.labels,
      workload: record.workload
    }
  }

  /**
   * The Services whose EndpointSlices list the pod; failing those, the selector of a Service that has no slices
   * (one whose endpoints the controller does not manage yet). Several: the first by name, so the choice is stable.
   */
  private serviceOf(record: PodRecord): ServiceRecord | undefined {
    let best: ServiceRecord | undefined
    const consider = (s: ServiceRecord | undefined) => {
      if (s !== undefined && (best === undefined || s.view.name < best.view.name)) best = s
    }
    for (const key of listOf(record.services)) consider(this.services.get(key))
    if (best !== undefined) return best
    for (const [name, s] of this.selectorServices.get(record.namespace) ?? []) {
      if (!this.slicesPerService.has(objectKey(record.namespace, name)) && selects(s.view.selector!, record.labels)) consider(s)
    }
    return best
  }
}
