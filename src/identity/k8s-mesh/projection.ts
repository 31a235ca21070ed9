// The few fields k8s-mesh needs from Pods, Services, EndpointSlices and Istio ServiceEntries. Objects arrive
// either as the client's typed models (lists: timestamps are `Date`s) or as raw JSON (watch events: timestamps are
// strings); both share the field names, so one projection reads both. Nothing else of an object is kept.
import { canonicalIp, parseIp, parsePrefix } from "./ip-prefix.ts"

export type Labels = Readonly<Record<string, string>>

/**
 * One string as itself, several as an array. Kept per pod (its IPs, its Services), where one is the rule: a
 * one-element array costs more than the string it holds.
 */
export type OneOrMore = string | ReadonlyArray<string>

export const listOf = (values: OneOrMore | undefined): ReadonlyArray<string> =>
  values === undefined ? [] : typeof values === "string" ? [values] : values

export interface PodView {
  readonly uid: string
  readonly name: string
  readonly namespace: string
  readonly labels: Labels
  /** Every address of `status.podIPs` (dual-stack pods have one per family), else `status.podIP`. */
  readonly ips: OneOrMore
  /** When the pod started holding its IPs: `status.startTime`, else `metadata.creationTimestamp` (epoch ms). */
  readonly sinceMs: number
  /** Succeeded or Failed: the kubelet has torn the sandbox down and the IPs are free for reuse. */
  readonly finished: boolean
  /** A hostNetwork pod's IPs are its node's: they must never name this pod. */
  readonly hostNetwork: boolean
  /** Istio's workload name: the controlling owner (a ReplicaSet without its pod-template-hash), else the pod. */
  readonly workload: string
}

export interface ServiceView {
  readonly name: string
  readonly namespace: string
  readonly labels: Labels
  /** `spec.selector`; undefined for a Service without one (its endpoints are managed by hand). */
  readonly selector: Labels | undefined
}

export interface EndpointSliceView {
  readonly name: string
  readonly namespace: string
  /** From the `kubernetes.io/service-name` label the EndpointSlice controller sets. */
  readonly service: string | undefined
  /**
   * Names of the pods the endpoints' targetRefs point to, ready or not (a terminating pod still serves). The
   * EndpointSlice controller only lists pods of the slice's own namespace, so the name is enough.
   */
  readonly podNames: ReadonlyArray<string>
}

export interface ServiceEntryView {
  readonly name: string
  readonly namespace: string
  readonly labels: Labels
  /** `spec.hosts`: the first names the service. */
  readonly hosts: ReadonlyArray<string>
  /** The IPs and CIDRs the entry answers for (see projectServiceEntry); host names and sockets are left out. */
  readonly addresses: ReadonlyArray<string>
}

// `any`: the two shapes above, read defensively with optional chaining.
type Loose = any

// Joined, not concatenated: `+` makes a V8 cons string that keeps both parts, and a key is kept per object.
export const objectKey = (namespace: string, name: string): string => [namespace, name].join("/")

const stringMap = (value: unknown): Labels => {
  if (value === null || typeof value !== "object") return {}
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v
  return out
}

const epochMs = (value: unknown): number | undefined => {
  const ms = value instanceof Date ? value.getTime() : typeof value === "string" ? Date.parse(value) : Number.NaN
  return Number.isFinite(ms) ? ms : undefined
}

const str = (value: unknown): string => (typeof value === "string" ? value : "")

/** As Istio names a pod's workload: a Deployment's ReplicaSet `name-HASH` becomes `name`; other owners as named. */
const workloadOf = (meta: Loose): string => {
  const refs: ReadonlyArray<Loose> = Array.isArray(meta?.ownerReferences) ? meta.ownerReferences : []
  const owner = refs.find((r) => r?.controller === true) ?? refs[0]
  const name = str(owner?.name)
  if (name === "") return str(meta?.name)
  const hash = str(meta?.labels?.["pod-template-hash"])
  return owner?.kind === "ReplicaSet" && hash !== "" && name.endsWith(`-${hash}`) ? name.slice(0, -hash.length - 1) : name
}

export const projectPod = (pod: Loose): PodView => {
  const meta: Loose = pod?.metadata
  const status: Loose = pod?.status
  const podIPs: ReadonlyArray<Loose> = Array.isArray(status?.podIPs) ? status.podIPs : []
  const listed = podIPs.map((p) => str(p?.ip)).filter((ip) => ip !== "")
  const podIP = str(status?.podIP)
  // Several are copied to an exact-size array: one built by push keeps spare capacity.
  const ips = listed.length > 1 ? listed.slice() : listed.length === 1 ? listed[0] : podIP !== "" ? podIP : []
  const phase = str(status?.phase)
  return {
    uid: str(meta?.uid),
    name: str(meta?.name),
    namespace: str(meta?.namespace),
    labels: stringMap(meta?.labels),
    ips,
    sinceMs: epochMs(status?.startTime) ?? epochMs(meta?.creationTimestamp) ?? 0,
    finished: phase === "Succeeded" || phase === "Failed",
    hostNetwork: pod?.spec?.hostNetwork === true,
    workload: workloadOf(meta)
  }
}

export const projectService = (service: Loose): ServiceView => {
  const selector = service?.spec?.selector
  const labels = stringMap(selector)
  return {
    name: str(service?.metadata?.name),
    namespace: str(service?.metadata?.namespace),
    labels: stringMap(service?.metadata?.labels),
    // An empty selector selects nothing for a Service (unlike a Deployment's).
    selector: Object.keys(labels).length > 0 ? labels : undefined
  }
}

export const projectEndpointSlice = (slice: Loose): EndpointSliceView => {
  const namespace = str(slice?.metadata?.namespace)
  const endpoints: ReadonlyArray<Loose> = Array.isArray(slice?.endpoints) ? slice.endpoints : []
  const podNames = endpoints
    .map((e) => e?.targetRef)
    .filter((ref) => ref?.kind === "Pod" && str(ref.name) !== "" && (str(ref.namespace) || namespace) === namespace)
    .map((ref) => str(ref.name))
  const service = slice?.metadata?.labels?.["kubernetes.io/service-name"]
  return { name: str(slice?.metadata?.name), namespace, service: typeof service === "string" ? service : undefined, podNames }
}

const isIpOrPrefix = (text: string): boolean => parseIp(text) !== undefined || parsePrefix(text) !== undefined

/**
 * Istio's `networking.istio.io/v1` ServiceEntry. `STATIC` and `NONE` (the default) entries answer for their
 * `spec.addresses` (IPs and CIDRs) and their endpoints' addresses; `DNS` and `DNS_ROUND_ROBIN` entries only for
 * endpoints given as IPs (their host names are resolved by the proxies, not here).
 */
export const projectServiceEntry = (entry: Loose): ServiceEntryView => {
  const spec: Loose = entry?.spec
  const strings = (value: unknown): Array<string> => (Array.isArray(value) ? value.filter((v) => typeof v === "string") : [])
  const endpoints: ReadonlyArray<Loose> = Array.isArray(spec?.endpoints) ? spec.endpoints : []
  const resolution = str(spec?.resolution) || "NONE"
  const declared = resolution === "STATIC" || resolution === "NONE" ? strings(spec?.addresses) : []
  const addresses = [...declared, ...endpoints.map((e) => str(e?.address))].filter(isIpOrPrefix).map(canonicalIp)
  return {
    name: str(entry?.metadata?.name),
    namespace: str(entry?.metadata?.namespace),
    labels: stringMap(entry?.metadata?.labels),
    hosts: strings(spec?.hosts),
    addresses: [...new Set(addresses)]
  }
}
