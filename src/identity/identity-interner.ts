// Equal identities handed out as one object. The aggregator's series keys (src/aggregation/entity.ts) and the Istio
// export's label parts (src/export/istio-labels.ts) are memoised per identity object. Without this, every stream
// decoded its own proxy's identity afresh, so each stream of the same workload built its own keys and its own
// branches of the export's trie: 1000 streams from a few dozen proxies made ~1000 copies of them (docs/performance.md,
// round eight). A peer met in two encodings (a Struct and a FlatNode) was two objects too.
import type { WorkloadIdentity } from "../domain/identity.ts"
import { BoundedMemo, type MemoryMeter } from "../util/bounded-memo.ts"

/** Distinct identities kept: a mesh's proxies, local and peer alike. */
const INTERNED_IDENTITY_LIMIT = 20_000

/**
 * What an interned entry retains besides its key: the Map slot, and the identity when nothing else holds it (the
 * peer cache usually does, sharing its strings).
 */
const IDENTITY_BYTES = 300

/** The value an identity is interned by: every field, labels in key order (the order the metadata listed them in varies). */
export const identityKey = (id: WorkloadIdentity): string =>
  JSON.stringify([
    id.service,
    id.instance,
    id.namespace,
    id.workload ?? null,
    id.cluster ?? null,
    id.principal ?? null,
    Object.entries(id.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  ])

export interface IdentityInterner {
  /** The identity equal to `id` that was interned first (kept while the table is not full), else `id` itself. */
  readonly intern: (id: WorkloadIdentity) => WorkloadIdentity
  readonly size: () => number
}

/**
 * Bounded by entries and by an estimate of bytes; a full table starts over, and an identity interned after that is
 * a new object again: its keys are rebuilt once.
 */
export const makeIdentityInterner = (maxBytes: number, meter?: MemoryMeter, limit = INTERNED_IDENTITY_LIMIT): IdentityInterner => {
  const memo = new BoundedMemo<string, WorkloadIdentity>(limit, {
    maxBytes,
    weigh: (key) => IDENTITY_BYTES + 2 * key.length, // two bytes a character: UTF-16 at worst
    ...(meter === undefined ? {} : { meter })
  })
  return {
    intern: (id) => {
      const key = identityKey(id)
      return memo.get(key) ?? memo.set(key, id)
    },
    size: () => memo.size
  }
}
