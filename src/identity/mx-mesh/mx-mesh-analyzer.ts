// mx-mesh: identities from Istio's metadata exchange, with no Kubernetes access. The local workload comes from
// the reporting node's metadata; peers from the filter state Istio's metadata-exchange filter logs per entry.
import { Effect, Option } from "effect"
import type { AccessLog, FilterStateObject, JsonObject } from "../../domain/access-log.ts"
import type { EntrySides, WorkloadIdentity } from "../../domain/identity.ts"
import type { ReportingNode } from "../../domain/node.ts"
import { AppConfig } from "../../config.ts"
import { decodeStruct } from "../../protocol/struct-codec.ts"
import { peerDecodeFailures } from "../../telemetry.ts"
import { WireReader } from "../../protocol/wire-reader.ts"
import type { Analyzer } from "../identity-resolver.ts"
import { compileTemplate, type NameTemplate } from "../name-template.ts"
import { decodeFlatNode } from "./flat-node.ts"
import { decodeIstioMetadata } from "./istio-metadata.ts"

/** Filter-state keys: Istio ≥ 1.24 logs a Struct under the plain keys, older Istio a FlatBuffer under `wasm.*`. */
const UPSTREAM_KEYS = new Set(["upstream_peer", "wasm.upstream_peer"])
const DOWNSTREAM_KEYS = new Set(["downstream_peer", "wasm.downstream_peer"])

/** Peer values repeat for every call between the same two pods: decode each distinct value once. */
const PEER_CACHE_LIMIT = 20_000

export interface MxMeshNaming {
  readonly service: NameTemplate
  readonly instance: NameTemplate
}

export const identityFromMetadata = (metadata: JsonObject, naming: MxMeshNaming): WorkloadIdentity | undefined => {
  const decoded = decodeIstioMetadata(metadata)
  if (Option.isNone(decoded)) return undefined
  const service = naming.service(decoded.value)
  const instance = naming.instance(decoded.value)
  if (service === undefined || instance === undefined) return undefined
  return { service, instance, namespace: decoded.value.NAMESPACE ?? "", labels: decoded.value.LABELS ?? {} }
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

/** Peer metadata → keys: a Struct for the plain keys, a FlatNode (inside a BytesValue) for `wasm.*`. */
const peerMetadata = (object: FilterStateObject): JsonObject =>
  object.key.startsWith("wasm.") ? decodeFlatNode(unwrapBytesValue(object.value)) : decodeStruct(object.value)

/** `onPeerFailure` is told of each distinct peer value that could not be decoded or named (treated as unknown). */
export const makeMxMeshAnalyzer = (naming: MxMeshNaming, onPeerFailure: () => void): Analyzer => {
  const cache = new Map<string, WorkloadIdentity | null>()

  const resolvePeer = (object: FilterStateObject): WorkloadIdentity | undefined => {
    // latin1 maps each byte to one char: a cheap, exact key for the raw bytes.
    const key = object.key.charCodeAt(0) === 119 /* w */ ? "w" : "s"
    const cacheKey = key + Buffer.from(object.value.buffer, object.value.byteOffset, object.value.byteLength).toString("latin1")
    const hit = cache.get(cacheKey)
    if (hit !== undefined) return hit ?? undefined
    let identity: WorkloadIdentity | undefined
    try {
      identity = identityFromMetadata(peerMetadata(object), naming)
    } catch {
      identity = undefined
    }
    if (identity === undefined) onPeerFailure()
    if (cache.size >= PEER_CACHE_LIMIT) cache.clear()
    cache.set(cacheKey, identity ?? null)
    return identity
  }

  return {
    name: "mx-mesh",
    isReady: () => true,
    forStream: (node: ReportingNode) => {
      const local = identityFromMetadata(node.info.metadata, naming)
      return {
        fill: (entries: ReadonlyArray<AccessLog>, sides: ReadonlyArray<EntrySides>) => {
          for (let i = 0; i < entries.length; i++) {
            const s = sides[i]
            if (s.local === undefined) s.local = local
            const filterState = entries[i].common.filterState
            for (let j = 0; j < filterState.length; j++) {
              const object = filterState[j]
              if (s.upstream === undefined && UPSTREAM_KEYS.has(object.key)) s.upstream = resolvePeer(object)
              else if (s.downstream === undefined && DOWNSTREAM_KEYS.has(object.key)) s.downstream = resolvePeer(object)
            }
          }
        }
      }
    }
  }
}

/** The mx-mesh analyzer with the naming rules from the configuration. */
export const mxMeshAnalyzer = Effect.gen(function*() {
  const config = yield* AppConfig
  const naming: MxMeshNaming = {
    service: compileTemplate(config.mxServiceNameRule),
    instance: compileTemplate(config.mxInstanceNameRule)
  }
  // The hot path is synchronous: count straight into the metric with the context captured here.
  const context = yield* Effect.context<never>()
  return makeMxMeshAnalyzer(naming, () => peerDecodeFailures.updateUnsafe(1, context))
})
