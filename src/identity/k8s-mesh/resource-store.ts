// The write side of k8s-mesh's indexes, as the list/watch loop (./resource-sync.ts) drives it.
import { objectKey } from "./projection.ts"

/** One kind of object as the list/watch loop feeds it: a full list replaces, events update one object. */
export interface ResourceStore<V> {
  readonly replaceAll: (items: ReadonlyArray<V>) => void
  readonly upsert: (item: V) => void
  readonly remove: (item: V) => void
}

/**
 * `replaceAll` for a store keyed by `namespace/name`: removes what the list no longer holds, upserts the rest.
 * A removal is given only the name and namespace (all a store's `remove` reads).
 */
export const replaceKeyed = <V extends { readonly name: string; readonly namespace: string }>(
  currentKeys: Iterable<string>,
  items: ReadonlyArray<V>,
  store: ResourceStore<V>
): void => {
  const listed = new Set(items.map((i) => objectKey(i.namespace, i.name)))
  for (const key of [...currentKeys]) {
    if (listed.has(key)) continue
    const slash = key.indexOf("/")
    store.remove({ namespace: key.slice(0, slash), name: key.slice(slash + 1) } as V)
  }
  for (const item of items) store.upsert(item)
}
