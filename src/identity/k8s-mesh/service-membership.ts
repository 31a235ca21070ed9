// Which Service a pod belongs to: the EndpointSlices that list it (by targetRef), else the selector of a Service
// that has no slices. Slices and pods are watched separately, so memberships of pods not indexed (yet, or any
// more) wait here for them.
import { type EndpointSliceView, type Labels, listOf, objectKey, type OneOrMore, type ServiceView } from "./projection.ts"
import { replaceKeyed, type ResourceStore } from "./resource-store.ts"

/** What membership reads and writes of an indexed pod. */
export interface Member {
  readonly namespace: string
  readonly labels: Labels
  /** Keys of the Services whose slices list the pod, once per slice (dual-stack Services have two). */
  services: OneOrMore | undefined
}

export interface ServiceRecord {
  readonly view: ServiceView
  /** The last service name made from this Service: pods of one Service share the string. */
  lastName: string | undefined
  /** The template variable: only what the projection keeps. */
  readonly vars: { readonly metadata: { readonly name: string; readonly namespace: string; readonly labels: Labels } }
}

const withKey = (keys: OneOrMore | undefined, key: string): OneOrMore => (keys === undefined ? key : [...listOf(keys), key])

/** Without one occurrence of `key` (a pod is listed once per slice). */
const withoutKey = (keys: OneOrMore | undefined, key: string): OneOrMore | undefined => {
  const list = listOf(keys)
  const at = list.indexOf(key)
  if (at < 0) return keys
  const rest = list.filter((_, i) => i !== at)
  return rest.length > 1 ? rest : rest[0]
}

export const selects = (selector: Labels, labels: Labels): boolean => {
  for (const k in selector) if (labels[k] !== selector[k]) return false
  return true
}

const sameNames = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean =>
  a.length === b.length && a.every((name, i) => name === b[i])

export class ServiceMembership {
  private readonly services = new Map<string, ServiceRecord>()
  /** Namespace → its Services that have a selector, for pods no slice names. */
  private readonly selectorServices = new Map<string, Map<string, ServiceRecord>>()
  private readonly slices = new Map<string, EndpointSliceView>()
  /** Service key → how many slices it has; a Service with none is matched by its selector instead. */
  private readonly slicesPerService = new Map<string, number>()
  /** Service memberships of pods not indexed (yet, or any more). */
  private readonly pending = new Map<string, OneOrMore>()
  /** Bumped when a namespace's Services or slices change: cached identities there are then recomputed. */
  private readonly generations = new Map<string, number>()
  /** The indexed pod with this `namespace/name` key, if any. */
  private readonly member: (podKey: string) => Member | undefined

  constructor(member: (podKey: string) => Member | undefined) {
    this.member = member
  }

  get serviceCount(): number {
    return this.services.size
  }
  get sliceCount(): number {
    return this.slices.size
  }

  /** Changes whenever a Service or slice of the namespace does. */
  generation(namespace: string): number {
    return this.generations.get(namespace) ?? 0
  }

  /** The memberships waiting for the pod with this key, handed over as it is indexed. */
  takePending(podKey: string): OneOrMore | undefined {
    const services = this.pending.get(podKey)
    this.pending.delete(podKey)
    return services
  }

  /** Keeps an ended pod's memberships: a pod recreated under the same name (a StatefulSet's) is listed by the same slices. */
  park(podKey: string, services: OneOrMore | undefined): void {
    if (services !== undefined) this.pending.set(podKey, services)
  }

  readonly serviceStore: ResourceStore<ServiceView> = {
    replaceAll: (items) => replaceKeyed(this.services.keys(), items, this.serviceStore),
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
    replaceAll: (items) => replaceKeyed(this.slices.keys(), items, this.sliceStore),
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

  /**
   * The Services whose EndpointSlices list the pod; failing those, the selector of a Service that has no slices
   * (one whose endpoints the controller does not manage yet). Several: the first by name, so the choice is stable.
   */
  serviceOf(member: Member): ServiceRecord | undefined {
    let best: ServiceRecord | undefined
    const consider = (s: ServiceRecord | undefined) => {
      if (s !== undefined && (best === undefined || s.view.name < best.view.name)) best = s
    }
    for (const key of listOf(member.services)) consider(this.services.get(key))
    if (best !== undefined) return best
    for (const [name, s] of this.selectorServices.get(member.namespace) ?? []) {
      if (!this.slicesPerService.has(objectKey(member.namespace, name)) && selects(s.view.selector!, member.labels)) consider(s)
    }
    return best
  }

  private join(podKey: string, serviceKey: string): void {
    const member = this.member(podKey)
    if (member !== undefined) member.services = withKey(member.services, serviceKey)
    else this.pending.set(podKey, withKey(this.pending.get(podKey), serviceKey))
  }

  private leave(podKey: string, serviceKey: string): void {
    const member = this.member(podKey)
    if (member !== undefined) {
      member.services = withoutKey(member.services, serviceKey)
      return
    }
    const rest = withoutKey(this.pending.get(podKey), serviceKey)
    if (rest === undefined) this.pending.delete(podKey)
    else this.pending.set(podKey, rest)
  }

  private bump(namespace: string): void {
    this.generations.set(namespace, (this.generations.get(namespace) ?? 0) + 1)
  }
}
