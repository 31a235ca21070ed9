// Memo tables whose keys come from traffic (paths, peers, addresses) must not grow without bound: this one starts
// over when it is full. Rebuilding an entry is cheap by design, so forgetting everything at once costs a burst of
// recomputation and no bookkeeping per hit (no LRU list on the hot path).

/** Bounds by bytes besides entries: `weigh` estimates what an entry retains; `meter` is told of the table's bytes. */
export interface ByteBound<K, V> {
  readonly maxBytes: number
  readonly weigh: (key: K, value: V) => number
  readonly meter?: MemoryMeter
}

/** A running estimate of retained bytes (src/memory/budget.ts keeps one per part); owners add and subtract. */
export interface MemoryMeter {
  bytes: number
}

export class BoundedMemo<K, V> {
  private readonly map = new Map<K, V>()
  readonly limit: number
  private readonly bound: ByteBound<K, V> | undefined
  private weight = 0

  constructor(limit: number, bound?: ByteBound<K, V>) {
    this.limit = limit
    this.bound = bound
  }

  get size(): number {
    return this.map.size
  }

  /** The estimated bytes held (0 without a byte bound). */
  get bytes(): number {
    return this.weight
  }

  /** The remembered value; `undefined` when there is none (so `V` should not include `undefined`). */
  get(key: K): V | undefined {
    return this.map.get(key)
  }

  /**
   * Remembers `value` for `key` (emptying the table first when it is full) and returns it. With a byte bound, a
   * value heavier than the whole bound is returned without being remembered. Replacing a key's value is weighed as
   * an addition: callers set a key once (memos), and the next start-over squares the count.
   */
  set(key: K, value: V): V {
    const bound = this.bound
    if (bound === undefined) {
      if (this.map.size >= this.limit && !this.map.has(key)) this.map.clear()
      this.map.set(key, value)
      return value
    }
    const w = bound.weigh(key, value)
    if (w > bound.maxBytes) return value
    if ((this.map.size >= this.limit && !this.map.has(key)) || this.weight + w > bound.maxBytes) this.clear()
    this.map.set(key, value)
    this.add(w)
    return value
  }

  /** Counts `bytes` more (or fewer) against the byte bound, for a value that grew in place; starts over past it. */
  grew(bytes: number): void {
    if (this.bound === undefined) return
    this.add(bytes)
    if (this.weight > this.bound.maxBytes) this.clear()
  }

  clear(): void {
    this.map.clear()
    this.add(-this.weight)
  }

  private add(bytes: number): void {
    this.weight += bytes
    if (this.bound?.meter !== undefined) this.bound.meter.bytes += bytes
  }
}
