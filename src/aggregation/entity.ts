// Series keys of the entities metrics are kept for (src/domain/series.ts): cheap strings, built once per record.
import type { WorkloadIdentity } from "../domain/identity.ts"
import type { DetectPoint } from "../domain/mesh-metric.ts"
import { BoundedMemo } from "../util/bounded-memo.ts"

const SEP = "\u0000"

/**
 * Keys are joined, not concatenated: `a + b` makes a V8 cons string that is flattened into a second string when
 * the key is first hashed, and both stay alive as long as the series (~80 bytes more per series).
 */
const key = (...parts: ReadonlyArray<string>) => parts.join(SEP)

export const serviceKey = (service: string) => key("s", service)
export const instanceKey = (service: string, instance: string) => key("i", service, instance)
export const endpointKey = (service: string, endpoint: string) => key("e", service, endpoint)
export const serviceRelationKey = (detectPoint: DetectPoint, source: string, target: string) => key("r", detectPoint, source, target)
export const instanceRelationKey = (
  detectPoint: DetectPoint,
  source: string,
  sourceInstance: string,
  target: string,
  targetInstance: string
) => key("R", detectPoint, source, sourceInstance, target, targetInstance)

/** Relation keys of one source → destination pair, built on first use. */
export interface PairKeys {
  client: string | undefined
  server: string | undefined
  clientInstance: string | undefined
  serverInstance: string | undefined
}

export interface IdentityKeys {
  readonly service: string
  readonly instance: string
  readonly endpoints: BoundedMemo<string, string>
  readonly pairs: BoundedMemo<WorkloadIdentity, PairKeys>
}

/** Past this many endpoints or peers per identity the memo starts over (keys are cheap to rebuild). */
const MEMO_LIMIT = 10_000

/**
 * Series keys memoised per identity object. Analyzers hand out the same identity object for every entry of a
 * workload (mx-mesh caches them per peer value), so the aggregator builds each key string once and its map
 * lookups hash a string whose hash V8 has already computed — instead of concatenating and hashing fresh strings
 * for up to five series per record. Keys depend only on the identities' values, so equal identities held in
 * different objects still land in the same series. A record looks its identities up once (`of`, `pair`) and
 * reads every key it needs from what they return.
 */
export const makeKeyMemo = () => {
  const memo = new WeakMap<WorkloadIdentity, IdentityKeys>()
  const of = (id: WorkloadIdentity): IdentityKeys => {
    let k = memo.get(id)
    if (k === undefined) {
      k = {
        service: serviceKey(id.service),
        instance: instanceKey(id.service, id.instance),
        endpoints: new BoundedMemo(MEMO_LIMIT),
        pairs: new BoundedMemo(MEMO_LIMIT)
      }
      memo.set(id, k)
    }
    return k
  }
  return {
    of,
    /** The relation keys of `src` → `dst`. */
    pair: (src: WorkloadIdentity, dst: WorkloadIdentity): PairKeys => {
      const pairs = of(src).pairs
      return (
        pairs.get(dst) ?? pairs.set(dst, { client: undefined, server: undefined, clientInstance: undefined, serverInstance: undefined })
      )
    },
    /** `keys` are `id`'s. */
    endpoint: (keys: IdentityKeys, id: WorkloadIdentity, endpoint: string) => {
      return keys.endpoints.get(endpoint) ?? keys.endpoints.set(endpoint, endpointKey(id.service, endpoint))
    },
    /** `p` is the pair of `src` → `dst`. */
    serviceRelation: (p: PairKeys, detectPoint: DetectPoint, src: WorkloadIdentity, dst: WorkloadIdentity) =>
      detectPoint === "client"
        ? (p.client ??= serviceRelationKey("client", src.service, dst.service))
        : (p.server ??= serviceRelationKey("server", src.service, dst.service)),
    instanceRelation: (p: PairKeys, detectPoint: DetectPoint, src: WorkloadIdentity, dst: WorkloadIdentity) =>
      detectPoint === "client"
        ? (p.clientInstance ??= instanceRelationKey("client", src.service, src.instance, dst.service, dst.instance))
        : (p.serverInstance ??= instanceRelationKey("server", src.service, src.instance, dst.service, dst.instance))
  }
}
