// Istio ServiceEntries: addresses outside the cluster's pods (VMs, external services) named by the entry's host.
// Consulted before pods, as SkyWalking does, so every lookup passes here first: exact IPs are one map lookup;
// CIDRs (a handful is the norm) are scanned only when that misses and there are any, and the verdict for the IP is
// remembered (most IPs asked about are pods', asked again and again).
import type { WorkloadIdentity } from "../../domain/identity.ts"
import type { NameTemplate } from "../name-template.ts"
import { inPrefix, type IpPrefix, parseIp, parsePrefix } from "./ip-prefix.ts"
import { objectKey, type ServiceEntryView } from "./projection.ts"
import { replaceKeyed, type ResourceStore } from "./resource-store.ts"
import { BoundedMemo } from "../../util/bounded-memo.ts"

/** Verdicts of the CIDR scan kept (then started afresh): about 80 bytes each. */
const PREFIX_VERDICT_CACHE = 32_768

interface EntryRecord {
  readonly key: string
  readonly view: ServiceEntryView
  readonly service: string
  /** By exact IP (the instance is the IP): the same object for every entry of that IP. */
  readonly identities: Map<string, WorkloadIdentity>
}

interface PrefixClaim {
  readonly prefix: IpPrefix
  readonly record: EntryRecord
}

/** Several entries may claim one address: the first by `namespace/name` wins, so the choice is stable. */
const byKey = (a: EntryRecord, b: EntryRecord) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)

export class ServiceEntryIndex {
  private readonly entries = new Map<string, EntryRecord>()
  private readonly exact = new Map<string, Array<EntryRecord>>()
  /** Longest prefix first, then by entry key. */
  private prefixes: Array<PrefixClaim> = []
  /** IP → what the CIDR scan found for it (null: nothing); cleared whenever an entry changes. */
  private readonly prefixVerdicts = new BoundedMemo<string, WorkloadIdentity | null>(PREFIX_VERDICT_CACHE)
  /** The service name rule over `serviceEntry` (metadata: name, namespace, labels; spec: hosts). */
  private readonly serviceName: NameTemplate

  constructor(serviceName: NameTemplate) {
    this.serviceName = serviceName
  }

  get entryCount(): number {
    return this.entries.size
  }

  /** The entry that declares `ip` (exactly, else in a CIDR), with the IP as instance; undefined if none. */
  lookup(ip: string): WorkloadIdentity | undefined {
    const claims = this.exact.get(ip)
    if (claims !== undefined) return this.identityOf(claims[0], ip)
    if (this.prefixes.length === 0) return undefined
    let verdict = this.prefixVerdicts.get(ip)
    if (verdict === undefined) {
      verdict = this.prefixVerdicts.set(ip, this.scanPrefixes(ip))
    }
    return verdict ?? undefined
  }

  /** The most specific CIDR that holds `ip`, as an identity with the IP as instance. */
  private scanPrefixes(ip: string): WorkloadIdentity | null {
    const bytes = parseIp(ip)
    if (bytes === undefined) return null
    for (const claim of this.prefixes) if (inPrefix(bytes, claim.prefix)) return makeIdentity(claim.record, ip)
    return null
  }

  readonly store: ResourceStore<ServiceEntryView> = {
    replaceAll: (items) => replaceKeyed(this.entries.keys(), items, this.store),
    upsert: (view) => {
      this.store.remove(view)
      this.prefixVerdicts.clear()
      const { name, namespace, labels, hosts } = view
      const vars = { serviceEntry: { metadata: { name, namespace, labels }, spec: { hosts } } }
      const key = objectKey(namespace, name)
      const record: EntryRecord = { key, view, service: this.serviceName(vars) ?? hosts[0] ?? name, identities: new Map() }
      this.entries.set(key, record)
      let prefixesChanged = false
      for (const address of view.addresses) {
        const prefix = parsePrefix(address)
        if (prefix !== undefined) {
          this.prefixes.push({ prefix, record })
          prefixesChanged = true
        } else {
          const claims = this.exact.get(address)
          if (claims === undefined) this.exact.set(address, [record])
          else {
            claims.push(record)
            claims.sort(byKey)
          }
        }
      }
      if (prefixesChanged) this.prefixes.sort((a, b) => b.prefix.bits - a.prefix.bits || byKey(a.record, b.record))
    },
    remove: (view) => {
      const key = objectKey(view.namespace, view.name)
      const record = this.entries.get(key)
      if (record === undefined) return
      this.entries.delete(key)
      this.prefixVerdicts.clear()
      for (const address of record.view.addresses) {
        const rest = this.exact.get(address)?.filter((r) => r !== record)
        if (rest === undefined) continue
        if (rest.length === 0) this.exact.delete(address)
        else this.exact.set(address, rest)
      }
      if (this.prefixes.some((c) => c.record === record)) this.prefixes = this.prefixes.filter((c) => c.record !== record)
    }
  }

  private identityOf(record: EntryRecord, ip: string): WorkloadIdentity {
    const known = record.identities.get(ip)
    if (known !== undefined) return known
    const identity = makeIdentity(record, ip)
    record.identities.set(ip, identity)
    return identity
  }
}

/** As SkyWalking: the instance is the address itself; the entry's labels become the identity's labels. */
const makeIdentity = (record: EntryRecord, ip: string): WorkloadIdentity => ({
  service: record.service,
  instance: ip,
  namespace: record.view.namespace,
  labels: record.view.labels
})
