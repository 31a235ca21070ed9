// mx-mesh: identities from Istio's metadata exchange, with no Kubernetes access. The local workload comes from
// the reporting node's metadata; peers from the filter state Istio's metadata-exchange filter logs per entry.
import { Config, Context, Effect, Layer, Option } from "effect"
import type { AccessLog, FilterStateObject, JsonObject } from "../../domain/access-log.ts"
import type { EntrySides, WorkloadIdentity } from "../../domain/identity.ts"
import type { ReportingNode } from "../../domain/node.ts"
import { decodeStruct } from "../../protocol/struct-codec.ts"
import { peerDecodeFailures } from "../../telemetry.ts"
import { MemoryBudget, type MemoryMeter, PEER_CACHE_SHARE } from "../../memory/budget.ts"
import { BoundedMemo } from "../../util/bounded-memo.ts"
import { boundString, MAX_NAME_CHARS } from "../../util/bounded-string.ts"
import { fnv1aBytes, viewOfBuffer } from "../../util/fnv1a.ts"
import { settingsConfig } from "../../util/setting.ts"
import { WireReader } from "../../util/wire-reader.ts"
import { makeIdentityInterner } from "../identity-interner.ts"
import type { Analyzer } from "../identity-resolver.ts"
import { compileTemplate, type Naming, type TemplateOptions, templateSetting } from "../name-template.ts"
import { decodeFlatNode } from "./flat-node.ts"
import { decodeIstioMetadata, peerStructToNodeKeys } from "./istio-metadata.ts"

/** Filter-state keys: Istio ≥ 1.24 logs a Struct under the plain keys, older Istio a FlatBuffer under `wasm.*`. */
// Compared, not looked up in a Set: each entry's one or two keys cost a hash-table probe each that way.
const isUpstreamKey = (key: string) => key === "upstream_peer" || key === "wasm.upstream_peer"
const isDownstreamKey = (key: string) => key === "downstream_peer" || key === "wasm.downstream_peer"

/** Peer values repeat for every call between the same two pods: decode each distinct value once. */
const PEER_CACHE_LIMIT = 20_000

/**
 * What a cached peer retains besides its raw bytes: the copy's ArrayBuffer and view, the entry and its list, the
 * identity and its label object, the Map slot: ~470 bytes (measured with --expose-gc over 200 k entries with short
 * names). The decoded names and labels come from the value and take up to twice its length again (UTF-16).
 */
const PEER_ENTRY_BYTES = 500
const peerWeight = (_hash: number, peers: ReadonlyArray<CachedPeer>) =>
  peers.reduce((sum, p) => sum + PEER_ENTRY_BYTES + 3 * p.bytes.length, 0)

/** The part of the peer cache's byte bound that the identity interner may take besides. */
const INTERNER_SHARE = 0.25

/** The peer cache's byte bound when none is given (no budget: 64 MiB). */
const DEFAULT_PEER_CACHE: PeerCacheBound = { maxBytes: 64 * 1024 * 1024 }

export interface PeerCacheBound {
  readonly maxBytes: number
  readonly meter?: MemoryMeter
}

/** What SkyWalking's FieldsHelper writes for a metadata field a rule needs but the metadata lacks. */
export const MISSING_FIELD = "-"

/**
 * mx-mesh's rules read metadata as SkyWalking's FieldsHelper does: keys match ignoring case (so `${NAME}` also
 * reads Istio ≥ 1.24's `name`) and a field the metadata lacks becomes `-` (`frontend.-` without a namespace).
 */
const MX_TEMPLATE_OPTIONS: TemplateOptions = { ignoreKeyCase: true, missing: MISSING_FIELD }

export const DEFAULT_MX_SERVICE_NAME_RULE =
  '${LABELS."service.istio.io/canonical-name",LABELS."app.kubernetes.io/name",LABELS.app,LABELS."k8s-app",SERVICE}.${NAMESPACE}'
export const DEFAULT_MX_INSTANCE_NAME_RULE = "${NAME}"
/** mx-mesh's naming rules, also the MetricsService's (src/pipeline/metrics-pipeline.ts, src/proxy-metrics/). */
export const mxServiceNameRule = templateSetting(["MESHSIGHT_MX_SERVICE_NAME_RULE"], DEFAULT_MX_SERVICE_NAME_RULE)
export const mxInstanceNameRule = templateSetting(["MESHSIGHT_MX_INSTANCE_NAME_RULE"], DEFAULT_MX_INSTANCE_NAME_RULE)

/** mx-mesh's naming rules (SkyWalking's `metadata-service-mapping.yaml` serviceName and serviceInstanceName). */
export const mxNaming = (serviceRule: string, instanceRule: string): Naming => ({
  service: compileTemplate(serviceRule, MX_TEMPLATE_OPTIONS),
  instance: compileTemplate(instanceRule, MX_TEMPLATE_OPTIONS)
})

/** mx-mesh's naming from its settings. */
export const namingConfig = settingsConfig({ mxServiceNameRule, mxInstanceNameRule }).pipe(
  Config.map((rules) => mxNaming(rules.mxServiceNameRule, rules.mxInstanceNameRule))
)

/**
 * Metadata whose known keys do not fit Istio's types, or in which the service rule finds no field at all, names
 * nobody (unknown); otherwise a missing field is `-`, in the instance too.
 */
export const identityFromMetadata = (metadata: JsonObject, naming: Naming): WorkloadIdentity | undefined => {
  const decoded = decodeIstioMetadata(metadata)
  if (Option.isNone(decoded)) return undefined
  // The rules read the metadata itself, not the decoded subset: a custom rule may name any key.
  const service = naming.service(metadata)
  if (service === undefined) return undefined
  const instance = naming.instance(metadata) ?? MISSING_FIELD
  // Names end up in series keys: bounded (the wire reader bounds each field, a rule may join several).
  const { NAMESPACE, LABELS, WORKLOAD_NAME, CLUSTER_ID } = decoded.value
  return {
    service: boundString(service, MAX_NAME_CHARS),
    instance: boundString(instance, MAX_NAME_CHARS),
    namespace: NAMESPACE ?? "",
    labels: LABELS ?? {},
    // For the Istio-standard labels (src/export/): only set when the metadata has them.
    ...(WORKLOAD_NAME !== undefined ? { workload: WORKLOAD_NAME } : {}),
    ...(CLUSTER_ID !== undefined ? { cluster: CLUSTER_ID } : {})
  }
}

/** BytesValue: `bytes value = 1`. */
const unwrapBytesValue = (bytes: Uint8Array): Uint8Array => {
  const r = new WireReader(bytes)
  let value: Uint8Array = new Uint8Array(0)
  while (r.pos < r.end) {
    const tag = r.varint()
    if (tag >>> 3 === 1 && (tag & 7) === 2) value = r.bytes()
    else r.skip(tag & 7)
  }
  return value
}

/** Peer metadata → node-metadata keys: a Struct for the plain keys, a FlatNode (inside a BytesValue) for `wasm.*`. */
const peerMetadata = (object: FilterStateObject, flat: boolean): JsonObject =>
  flat ? decodeFlatNode(unwrapBytesValue(object.value)) : peerStructToNodeKeys(decodeStruct(object.value))

interface CachedPeer {
  /**
   * A copy with memory of its own, so that the cache does not keep the message alive: grpc-js hands a message over
   * as a Buffer, and a Buffer's slice() is a view of the same memory (Uint8Array's is a copy).
   */
  readonly bytes: Uint8Array
  readonly flat: boolean
  readonly identity: WorkloadIdentity | undefined
}

/** `onPeerFailure` is told of each distinct peer value that could not be decoded or named (treated as unknown). */
export const makeMxMeshAnalyzer = (
  naming: Naming,
  onPeerFailure: () => void,
  cacheBound: PeerCacheBound = DEFAULT_PEER_CACHE
): Analyzer => {
  // Keyed by a hash of the raw bytes and checked byte for byte: no per-entry key string (hashing the value as a
  // latin1 string was the analyzer's main cost).
  // Bounded by distinct hashes (a collision shares a slot's list) and by bytes: each entry copies the raw value.
  const cache = new BoundedMemo<number, Array<CachedPeer>>(PEER_CACHE_LIMIT, { ...cacheBound, weigh: peerWeight })
  // Locals and peers alike: a workload is one object however many streams and encodings name it.
  const identities = makeIdentityInterner(cacheBound.maxBytes * INTERNER_SHARE, cacheBound.meter)
  const named = (metadata: JsonObject): WorkloadIdentity | undefined => {
    const identity = identityFromMetadata(metadata, naming)
    return identity === undefined ? undefined : identities.intern(identity)
  }

  /** `view` covers the buffer of `object.value` (viewOfBuffer). */
  const resolvePeer = (object: FilterStateObject, view: DataView): WorkloadIdentity | undefined => {
    const flat = object.key.charCodeAt(0) === 119 /* w: the `wasm.*` keys */
    const value = object.value
    const hash = fnv1aBytes(value, view)
    const candidates = cache.get(hash)
    if (candidates !== undefined) {
      for (let i = 0; i < candidates.length; i++) {
        const c = candidates[i]
        if (c.flat === flat && Buffer.compare(c.bytes, value) === 0) return c.identity
      }
    }
    let identity: WorkloadIdentity | undefined
    try {
      identity = named(peerMetadata(object, flat))
    } catch {
      identity = undefined
    }
    if (identity === undefined) onPeerFailure()
    const entry: CachedPeer = { bytes: new Uint8Array(value), flat, identity }
    if (candidates === undefined) cache.set(hash, [entry])
    else {
      candidates.push(entry)
      cache.grew(PEER_ENTRY_BYTES + 3 * value.length)
    }
    return identity
  }

  return {
    name: "mx-mesh",
    isReady: () => true,
    reads: { addresses: false, filterState: true },
    forStream: (node: ReportingNode) => {
      const local = named(node.info.metadata)
      return {
        fill: (entries: ReadonlyArray<AccessLog>, sides: ReadonlyArray<EntrySides>) => {
          // One view of the message's buffer for all its peer values, dropped with this call.
          let view: DataView | undefined
          const peer = (object: FilterStateObject) => resolvePeer(object, (view = viewOfBuffer(object.value, view)))
          for (let i = 0; i < entries.length; i++) {
            const s = sides[i]
            if (s.local === undefined) s.local = local
            const filterState = entries[i].common.filterState
            for (let j = 0; j < filterState.length; j++) {
              const object = filterState[j]
              if (s.upstream === undefined && isUpstreamKey(object.key)) s.upstream = peer(object)
              else if (s.downstream === undefined && isDownstreamKey(object.key)) s.downstream = peer(object)
            }
          }
        }
      }
    }
  }
}

export class MxMesh extends Context.Service<MxMesh, Analyzer>()("meshsight/MxMesh") {}

/** The mx-mesh analyzer with the naming rules from the configuration. */
export const make = Effect.gen(function* () {
  const naming = yield* namingConfig
  // The hot path is synchronous: count straight into the metric with the context captured here.
  const context = yield* Effect.context<never>()
  // Optional, so that analyzer registries need nothing more than the configuration (tests build them alone).
  const budget = yield* Effect.serviceOption(MemoryBudget)
  const bound = Option.match(budget, {
    onNone: () => DEFAULT_PEER_CACHE,
    onSome: (b) => ({ maxBytes: b.limitBytes * PEER_CACHE_SHARE, meter: b.meter("peers") })
  })
  return makeMxMeshAnalyzer(naming, () => peerDecodeFailures.updateUnsafe(1, context), bound)
})

export const layer = Layer.effect(MxMesh, make)
