// The label values of Istio's standard metrics (istio.io "Istio Standard Metrics"), made from mesh-metric records.
// Each part is rendered once and cached — per identity object (one object for all identities with the same labels),
// per upstream cluster or authority, per response flag mask — so a record's series key is a concatenation of a few
// ready strings.
import type { AccessLog } from "../domain/access-log.ts"
import type { WorkloadIdentity } from "../domain/identity.ts"
import type { MeshMetric } from "../domain/mesh-metric.ts"
import { RESPONSE_FLAG_CODES } from "../domain/response-flags.ts"

/** What Istio writes for a label it cannot know. */
export const UNKNOWN = "unknown"

export type LabelPair = readonly [name: string, value: string]

/**
 * A group of labels as exposition text (`a="x",b="y",`, each ending with a comma) and as name/value pairs, with a
 * small number naming this part object: series are looked up by their parts' ids, not by their long label text.
 */
export interface LabelPart {
  readonly id: number
  readonly text: string
  readonly pairs: ReadonlyArray<LabelPair>
}

let nextPartId = 0

/** Prometheus text-format escaping of a label value: backslash, double quote and line feed. */
export const escapeLabelValue = (value: string): string =>
  /[\\"\n]/.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`)) : value

const textOf = (pairs: ReadonlyArray<LabelPair>): string => pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}",`).join("")

export const labelPart = (pairs: ReadonlyArray<LabelPair>, text = textOf(pairs)): LabelPart => ({ id: nextPartId++, text, pairs })

const first = (labels: Readonly<Record<string, string>>, keys: ReadonlyArray<string>): string | undefined => {
  for (const k of keys) {
    const v = labels[k]
    if (v !== undefined && v !== "") return v
  }
  return undefined
}

/**
 * The workload labels of one side. Istio's defaults: the canonical service falls back to
 * `app.kubernetes.io/name`, `app`, then the workload name; the canonical revision to `app.kubernetes.io/version`,
 * `version`, then `latest`.
 */
const workloadPairs = (side: "source" | "destination", id: WorkloadIdentity | undefined): Array<LabelPair> => {
  if (id === undefined || id.instance === "") {
    return ["workload", "workload_namespace", "app", "version", "canonical_service", "canonical_revision", "cluster"].map(
      (k) => [`${side}_${k}`, UNKNOWN] as const
    )
  }
  const l = id.labels
  const workload = id.workload || UNKNOWN
  return [
    [`${side}_workload`, workload],
    [`${side}_workload_namespace`, id.namespace || UNKNOWN],
    [`${side}_app`, first(l, ["app"]) ?? UNKNOWN],
    [`${side}_version`, first(l, ["version"]) ?? UNKNOWN],
    [`${side}_canonical_service`, first(l, ["service.istio.io/canonical-name", "app.kubernetes.io/name", "app"]) ?? workload],
    [`${side}_canonical_revision`, first(l, ["service.istio.io/canonical-revision", "app.kubernetes.io/version", "version"]) ?? "latest"],
    [`${side}_cluster`, id.cluster || UNKNOWN]
  ]
}

const sourceParts = new WeakMap<WorkloadIdentity, LabelPart>()
const destinationParts = new WeakMap<WorkloadIdentity, LabelPart>()
const UNKNOWN_SOURCE = labelPart(workloadPairs("source", undefined))

/**
 * One part object per label text: Istio's workload labels name no pod, so every pod of a workload (each its own
 * identity object) shares its workload's part. Series are found by their parts' objects (mesh-series.ts): a part
 * per pod made a path per pair of pods there (70 k trie nodes, ~17 MB of heap, for 514 label sets from 569 pods).
 */
const byText = new Map<string, LabelPart>()
const sharedPart = (pairs: ReadonlyArray<LabelPair>): LabelPart => {
  const text = textOf(pairs)
  let part = byText.get(text)
  if (part === undefined) {
    if (byText.size >= MEMO_LIMIT) byText.clear()
    byText.set(text, (part = labelPart(pairs, text)))
  }
  return part
}

/** An identity's `source_*` labels, rendered once per identity object (analyzers share identity objects). */
export const sourcePart = (id: WorkloadIdentity | undefined): LabelPart => {
  if (id === undefined) return UNKNOWN_SOURCE
  let part = sourceParts.get(id)
  if (part === undefined) sourceParts.set(id, (part = sharedPart(workloadPairs("source", id))))
  return part
}

export const destinationPart = (id: WorkloadIdentity): LabelPart => {
  let part = destinationParts.get(id)
  if (part === undefined) destinationParts.set(id, (part = sharedPart(workloadPairs("destination", id))))
  return part
}

/** Past this many distinct keys a memo starts over (keys come from traffic: hosts, principals). */
const MEMO_LIMIT = 20_000

const memo = <V>(make: (key: string) => V) => {
  const map = new Map<string, V>()
  return (key: string): V => {
    let v = map.get(key)
    if (v === undefined) {
      if (map.size >= MEMO_LIMIT) map.clear()
      map.set(key, (v = make(key)))
    }
    return v
  }
}

/** `name.namespace.svc.<domain>`: a Kubernetes Service host. */
const SERVICE_HOST = /^([^.]+)\.([^.]+)\.svc(?:\.|$)/

const servicePairs = (host: string, fallbackNamespace: string): Array<LabelPair> => {
  if (host === "") {
    return [
      ["destination_service", UNKNOWN],
      ["destination_service_name", UNKNOWN],
      ["destination_service_namespace", UNKNOWN]
    ]
  }
  const m = SERVICE_HOST.exec(host)
  return [
    ["destination_service", host],
    ["destination_service_name", m ? m[1] : host],
    ["destination_service_namespace", m ? m[2] : fallbackNamespace || UNKNOWN]
  ]
}

/** The Service host of an outbound cluster name, `outbound|PORT|SUBSET|HOST`; "" for any other cluster. */
const clusterHost = (cluster: string): string => {
  if (!cluster.startsWith("outbound|")) return ""
  const bar = cluster.lastIndexOf("|")
  return bar > 8 ? cluster.slice(bar + 1) : ""
}

const byCluster = memo((cluster: string) => labelPart(servicePairs(clusterHost(cluster), "")))
/** By the callee's namespace, then the authority: nested, so no key string is built per record. */
const byAuthority = new Map<string, (authority: string) => LabelPart>()
const authorityPart = (namespace: string, authority: string): LabelPart => {
  let inNamespace = byAuthority.get(namespace)
  if (inNamespace === undefined) {
    if (byAuthority.size >= MEMO_LIMIT) byAuthority.clear()
    byAuthority.set(
      namespace,
      (inNamespace = memo((authority) => {
        // The Host header without its port; a bare Service name is completed with the callee's namespace and the
        // default cluster domain, as Kubernetes DNS resolves it.
        const host = authority.startsWith("[") ? authority : authority.replace(/:\d+$/, "")
        const fqdn = host !== "" && !host.includes(".") && namespace !== "" ? `${host}.${namespace}.svc.cluster.local` : host
        return labelPart(servicePairs(fqdn, namespace))
      }))
    )
  }
  return inNamespace(authority)
}

/**
 * `destination_service*`: the Service host of the upstream cluster (`outbound|9080||reviews.default.svc.cluster.local`);
 * where the cluster names none (a sidecar's `inbound|9080||`), the request's authority, a bare name completed with
 * the callee's `namespace`; else unknown.
 */
const servicePart = (e: AccessLog | undefined, namespace = ""): LabelPart => {
  if (e === undefined) return byCluster("")
  const cluster = e.common.upstreamCluster
  if (cluster.startsWith("outbound|") || e.kind === "tcp" || e.authority === "") return byCluster(cluster)
  return authorityPart(namespace, e.authority)
}

const flagTexts = new Map<number, string>()

/** `response_flags`: the set flags' short codes joined by commas, `-` when none (as Envoy's %RESPONSE_FLAGS%). */
export const responseFlagsText = (mask: number): string => {
  let text = flagTexts.get(mask)
  if (text === undefined) {
    const codes = RESPONSE_FLAG_CODES.filter((_, i) => (mask & (1 << i)) !== 0)
    text = codes.length === 0 ? "-" : codes.join(",")
    flagTexts.set(mask, text)
  }
  return text
}

/** By source principal, then destination principal: nested, so no key string is built per record. */
let principalParts = new Map<string, Map<string, LabelPart>>()
let principalCount = 0
const principalPairs = (source: string, destination: string): LabelPart => {
  let byDestination = principalParts.get(source)
  if (byDestination === undefined) {
    if (principalCount >= MEMO_LIMIT) {
      principalParts = new Map()
      principalCount = 0
    }
    principalParts.set(source, (byDestination = new Map()))
  }
  let part = byDestination.get(destination)
  if (part === undefined) {
    byDestination.set(
      destination,
      (part = labelPart([
        ["source_principal", source],
        ["destination_principal", destination]
      ]))
    )
    principalCount++
  }
  return part
}

/**
 * The service and principal parts of the records between one pair of workloads, with the inputs they were last made
 * from. A pair of workloads is nearly always reached through the same Service with the same principals, and the
 * decoder interns repeated strings: a record of a known pair gets both parts after a few reference comparisons
 * instead of memo lookups by string.
 */
export interface PairLabels {
  cluster: string
  authority: string
  namespace: string
  service: LabelPart
  sourcePrincipal: string
  destinationPrincipal: string
  principals: LabelPart
}

export const pairLabels = (): PairLabels => ({
  cluster: "",
  authority: "",
  namespace: "",
  service: servicePart(undefined),
  sourcePrincipal: UNKNOWN,
  destinationPrincipal: UNKNOWN,
  principals: principalPairs(UNKNOWN, UNKNOWN)
})

/** `servicePart` of a record of the pair, remade only when its inputs changed. */
export const pairService = (pair: PairLabels, e: AccessLog | undefined, destination: WorkloadIdentity): LabelPart => {
  const cluster = e === undefined ? "" : e.common.upstreamCluster
  const authority = e?.kind === "http" ? e.authority : ""
  if (cluster !== pair.cluster || authority !== pair.authority || destination.namespace !== pair.namespace) {
    pair.cluster = cluster
    pair.authority = authority
    pair.namespace = destination.namespace
    pair.service = servicePart(e, destination.namespace)
  }
  return pair.service
}

/**
 * `source_principal`/`destination_principal`. Server side: the downstream TLS connection's certificates (the peer's
 * URI SAN is the caller's SPIFFE id, the local one this workload's). Client side: Envoy's access log describes the
 * application's plain-text connection, so the principals come from the identities when an analyzer knows them.
 */
export const pairPrincipals = (
  pair: PairLabels,
  m: MeshMetric,
  sourceId: WorkloadIdentity | undefined,
  reporterIsServer: boolean
): LabelPart => {
  let source: string | undefined
  let destination: string | undefined
  const tls = m.entry?.common.tls
  if (reporterIsServer && tls !== undefined) {
    source = tls.peerUriSan
    destination = tls.localUriSan
  }
  source ||= sourceId?.principal || UNKNOWN
  destination ||= m.destination.principal || UNKNOWN
  // Remade only when the principals changed.
  if (source !== pair.sourcePrincipal || destination !== pair.destinationPrincipal) {
    pair.sourcePrincipal = source
    pair.destinationPrincipal = destination
    pair.principals = principalPairs(source, destination)
  }
  return pair.principals
}
