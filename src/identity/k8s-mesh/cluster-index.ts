// k8s-mesh's view of the cluster: "which workload held this IP at this moment". Pods are kept here; which pod
// held an IP when is ./ip-tenure.ts, which Service a pod belongs to is ./service-membership.ts. Plain synchronous
// data: the watches write it, `fill` reads it.
import type { WorkloadIdentity } from "../../domain/identity.ts"
import type { Naming } from "../name-template.ts"
import { LabelInterner, StringInterner } from "./interning.ts"
import { IpTenures, type Tenure } from "./ip-tenure.ts"
import { type EndpointSliceView, type Labels, objectKey, type PodView, type ServiceView } from "./projection.ts"
import { replaceKeyed, type ResourceStore } from "./resource-store.ts"
import { type Member, selects, ServiceMembership } from "./service-membership.ts"
import { fnv1aString } from "../../util/fnv1a.ts"

export { CLOCK_SKEW_MS, ENDED_POD_RETENTION_MS } from "./ip-tenure.ts"

interface PodRecord extends Tenure, Member {
  /** `namespace/name`: the same string keys `pods`. */
  readonly key: string
  readonly namespace: string
  /** A hash of the uid: enough to tell a recreated pod of the same name, at a fraction of the uid's size. */
  readonly uidHash: number
  labels: Labels
  readonly workload: string
  /** Cached identity (null: no Service, so unknown), valid while `generation` matches its namespace's. */
  identity: WorkloadIdentity | null | undefined
  generation: number
}

const sameIdentity = (a: WorkloadIdentity | null, b: WorkloadIdentity | null | undefined): boolean =>
  a === null || b == null
    ? a === b
    : a.service === b.service && a.instance === b.instance && a.namespace === b.namespace && a.labels === b.labels

const sameLabels = (a: Labels, b: Labels): boolean => Object.keys(a).length === Object.keys(b).length && selects(a, b)

export class ClusterIndex {
  private readonly pods = new Map<string, PodRecord>()
  private readonly tenures = new IpTenures<PodRecord>()
  private readonly membership = new ServiceMembership((key) => this.pods.get(key))
  private readonly labels = new LabelInterner()
  private readonly namespaces = new StringInterner()

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
    return this.tenures.size
  }
  get serviceCount(): number {
    return this.membership.serviceCount
  }
  get sliceCount(): number {
    return this.membership.sliceCount
  }

  /** The workload that held `ip` at `atMs`, or undefined (unknown IPs, node IPs, pods with no Service). */
  lookup(ip: string, atMs: number): WorkloadIdentity | undefined {
    const holder = this.tenures.holderAt(ip, atMs)
    return holder === undefined ? undefined : (this.identityOf(holder) ?? undefined)
  }

  readonly podStore: ResourceStore<PodView> = {
    replaceAll: (items) => replaceKeyed(this.pods.keys(), items, this.podStore),
    upsert: (p) => {
      const key = objectKey(p.namespace, p.name)
      let record = this.pods.get(key)
      // A new uid under the same name is a new pod (a StatefulSet's pods keep their names).
      if (record !== undefined && (record.uidHash !== fnv1aString(p.uid) || p.finished)) {
        this.endPod(record)
        record = undefined
      }
      if (p.finished || p.hostNetwork) return
      if (record === undefined) this.addPod(key, p)
      else this.updatePod(record, p)
      this.tenures.dropExpired(this.now())
    },
    remove: (p) => {
      const record = this.pods.get(objectKey(p.namespace, p.name))
      if (record !== undefined) this.endPod(record)
      this.tenures.dropExpired(this.now())
    }
  }

  readonly serviceStore: ResourceStore<ServiceView> = this.membership.serviceStore
  readonly sliceStore: ResourceStore<EndpointSliceView> = this.membership.sliceStore

  private addPod(key: string, p: PodView): void {
    const record: PodRecord = {
      key,
      namespace: this.namespaces.shared(p.namespace),
      uidHash: fnv1aString(p.uid),
      labels: this.labels.acquire(p.labels),
      ips: p.ips,
      workload: p.workload,
      sinceMs: p.sinceMs,
      endedMs: undefined,
      services: this.membership.takePending(key),
      identity: undefined,
      generation: -1
    }
    this.pods.set(key, record)
    this.tenures.add(record)
  }

  /** The same pod changed: labels may have, and a pending pod gets its IPs. */
  private updatePod(record: PodRecord, p: PodView): void {
    if (!sameLabels(record.labels, p.labels)) {
      this.labels.release(record.labels)
      record.labels = this.labels.acquire(p.labels)
      record.identity = undefined
    }
    this.tenures.move(record, p.ips)
  }

  /** The pod gave up its IPs: keep its identity as it was, for entries that started before. */
  private endPod(record: PodRecord): void {
    record.identity = this.identityOf(record)
    this.tenures.end(record, this.now())
    this.pods.delete(record.key)
    this.membership.park(record.key, record.services)
    this.labels.release(record.labels)
  }

  private identityOf(record: PodRecord): WorkloadIdentity | null {
    if (record.endedMs !== undefined) return record.identity ?? null
    const generation = this.membership.generation(record.namespace)
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
   * `service`. Unlike SkyWalking (whose rule writes `-` for a value it does not find), a rule that finds no value
   * gives the Service's own name.
   */
  private nameWorkload(record: PodRecord): WorkloadIdentity | null {
    const service = this.membership.serviceOf(record)
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
}
