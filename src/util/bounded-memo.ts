// Memo tables whose keys come from traffic (paths, peers, addresses) must not grow without bound: this one starts
// over when it is full. Rebuilding an entry is cheap by design, so forgetting everything at once costs a burst of
// recomputation and no bookkeeping per hit (no LRU list on the hot path).

export class BoundedMemo<K, V> {
  private readonly map = new Map<K, V>()
  readonly limit: number

  constructor(limit: number) {
    this.limit = limit
  }

  get size(): number {
    return this.map.size
  }

  /** The remembered value; `undefined` when there is none (so `V` should not include `undefined`). */
  get(key: K): V | undefined {
    return this.map.get(key)
  }

  /** Remembers `value` for `key` (emptying the table first when it is full) and returns it. */
  set(key: K, value: V): V {
    if (this.map.size >= this.limit && !this.map.has(key)) this.map.clear()
    this.map.set(key, value)
    return value
  }

  clear(): void {
    this.map.clear()
  }
}
