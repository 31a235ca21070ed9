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

/** Relation keys of one source → destination service pair, built on first use. */
export interface ServicePairKeys {
  client: string | undefined
  server: string | undefined
}

/** Relation keys of one source → destination identity pair, built on first use. */
export interface PairKeys {
  /** Shared by every pair of instances of the same two services. */
  readonly services: ServicePairKeys
  clientInstance: string | undefined
  serverInstance: string | undefined
}

/**
 * What every identity of one service (its instances) shares: keys depend only on names, so ten instances serving
 * the same endpoint name one series, and hold one key string for it, not ten.
 */
interface ServiceKeys {
  readonly service: string
  readonly endpoints: BoundedMemo<string, string>
  /** By destination service. */
  readonly relations: BoundedMemo<string, ServicePairKeys>
}

export interface IdentityKeys {
  readonly service: string
  readonly instance: string
  readonly pairs: BoundedMemo<WorkloadIdentity, PairKeys>
  readonly ofService: ServiceKeys
}

/** Past this many services, endpoints or peers (of a service or identity) a memo starts over (keys are cheap to rebuild). */
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
  const services = new BoundedMemo<string, ServiceKeys>(MEMO_LIMIT)
  const serviceKeys = (service: string): ServiceKeys =>
    services.get(service) ??
    services.set(service, { service: serviceKey(service), endpoints: new BoundedMemo(MEMO_LIMIT), relations: new BoundedMemo(MEMO_LIMIT) })
  const of = (id: WorkloadIdentity): IdentityKeys => {
    let k = memo.get(id)
    if (k === undefined) {
      const ofService = serviceKeys(id.service)
      k = {
        service: ofService.service,
        instance: instanceKey(id.service, id.instance),
        pairs: new BoundedMemo(MEMO_LIMIT),
        ofService
      }
      memo.set(id, k)
    }
    return k
  }
  return {
    of,
    /** The relation keys of `src` → `dst`. */
    pair: (src: WorkloadIdentity, dst: WorkloadIdentity): PairKeys => {
      const k = of(src)
      const found = k.pairs.get(dst)
      if (found !== undefined) return found
      const relations = k.ofService.relations
      const services = relations.get(dst.service) ?? relations.set(dst.service, { client: undefined, server: undefined })
      return k.pairs.set(dst, { services, clientInstance: undefined, serverInstance: undefined })
    },
    /** `keys` are `id`'s. */
    endpoint: (keys: IdentityKeys, id: WorkloadIdentity, endpoint: string) => {
      const endpoints = keys.ofService.endpoints
      return endpoints.get(endpoint) ?? endpoints.set(endpoint, endpointKey(id.service, endpoint))
    },
    /** `p` is the pair of `src` → `dst`. */
    serviceRelation: (p: PairKeys, detectPoint: DetectPoint, src: WorkloadIdentity, dst: WorkloadIdentity) =>
      detectPoint === "client"
        ? (p.services.client ??= serviceRelationKey("client", src.service, dst.service))
        : (p.services.server ??= serviceRelationKey("server", src.service, dst.service)),
    instanceRelation: (p: PairKeys, detectPoint: DetectPoint, src: WorkloadIdentity, dst: WorkloadIdentity) =>
      detectPoint === "client"
        ? (p.clientInstance ??= instanceRelationKey("client", src.service, src.instance, dst.service, dst.instance))
        : (p.serverInstance ??= instanceRelationKey("server", src.service, src.instance, dst.service, dst.instance))
  }
}
