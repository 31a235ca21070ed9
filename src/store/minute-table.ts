// One minute's series as rows of typed arrays instead of an object graph per series (SeriesStats, its histogram and
// bucket array, the entity, the `{ entity, stats }` pair, a Map entry: ~480 bytes a series at 100 k series). A row
// is ~80 bytes and 4 per latency bucket; the entity and key are the registry's, once for all minutes. SeriesStats
// go in (merge) and come out (read), so the aggregator's hot path and the query side still work on objects: the
// store only keeps rows. The parts few series have (apdex, status codes past the first, response flags, TCP counts)
// stay objects, in a side map.
import type { Entity, Series } from "../domain/series.ts"
import { addCode, addCount, SeriesStats, type TcpCounts } from "../domain/series-stats.ts"
import type { EntityRegistry } from "./entity-registry.ts"

// Sums of a row, and its first status code (Float64: as SeriesStats keeps them).
const LATENCY_SUM = 0
const REQ_NS_SUM = 1
const RESP_NS_SUM = 2
const CODE = 3
const SUMS = 4
// Tallies of a row: whole counts, held in 32 bits until one does not fit (a minute of one series with 2^32 calls
// is past any ingest rate), then in 64-bit floats like the sums, for the whole table.
const CALLS = 0
const SUCCESSES = 1
const HTTP_CALLS = 2
const GRPC_CALLS = 3
const CODE_COUNT = 4
const REQ_COUNT = 5
const RESP_COUNT = 6
const TALLIES = 7
// Integers of a row: the entity's number, the latency counts' first bucket, where they start in `counts` and how
// many there are, flags.
const ID = 0
const FIRST_BUCKET = 1
const START = 2
const LENGTH = 3
const FLAGS = 4
const INTS = 5
const HAS_APDEX = 1
const HAS_RARE = 2

/** What few series have. */
interface Rare {
  apdex?: [number, number]
  otherCodes?: Array<number>
  responseFlags?: Map<string, number>
  tcp?: TcpCounts
}

/** A row as a Series: the entity now, the stats made when first read. */
class RowSeries implements Series {
  readonly entity: Entity
  private readonly table: MinuteTable
  private readonly row: number
  private made: SeriesStats | undefined
  constructor(entity: Entity, table: MinuteTable, row: number) {
    this.entity = entity
    this.table = table
    this.row = row
  }
  get stats(): SeriesStats {
    this.made ??= this.table.statsOf(this.row)
    return this.made
  }
}

/**
 * A read-only Map of the minute's series by key, as the store hands it out: each read makes the Series afresh
 * (changing one does not change the store). Rows are only added, in merge order, so iterating sees what a Map
 * would. Once the minute is dropped (retention) it reads as empty: its entities' numbers may be reused.
 */
export class MinuteTable implements ReadonlyMap<string, Series> {
  private rows = 0
  private sums = new Float64Array(16 * SUMS)
  private tallies: Uint32Array | Float64Array = new Uint32Array(16 * TALLIES)
  private ints = new Int32Array(16 * INTS)
  /** Open addressing, entity number → row + 1 (0: empty). */
  private index = new Int32Array(32)
  /** Every row's latency counts, each a dense run from its first bucket to its last (LatencyHistogram's layout). */
  private counts: Uint32Array | Float64Array = new Uint32Array(64)
  private countsUsed = 0
  /** Slots of `counts` left behind by runs that moved to widen. */
  private countsDropped = 0
  private readonly rare = new Map<number, Rare>()
  /** Rows whose entity differs from the registry's (the first one made for the key): a minute keeps its own. */
  private readonly ownEntities = new Map<number, Entity>()
  /** Merged into since the store last asked (`settled`). */
  private touched = false
  private dropped = false
  private readonly registry: EntityRegistry

  constructor(registry: EntityRegistry) {
    this.registry = registry
  }

  get size(): number {
    return this.dropped ? 0 : this.rows
  }

  /** The row of entity `id`, or -1. */
  rowOf(id: number): number {
    const index = this.index
    const mask = index.length - 1
    for (let h = slotOf(id, index); ; h = (h + 1) & mask) {
      const v = index[h]
      if (v === 0) return -1
      if (this.ints[(v - 1) * INTS + ID] === id) return v - 1
    }
  }

  /** A new row for entity `id` (not yet in the table) holding `stats`; `entity` is the one the minute's first record made. */
  add(id: number, entity: Entity, stats: SeriesStats): void {
    const row = this.rows++
    if (!sameEntity(entity, this.registry.entity(id))) this.ownEntities.set(row, entity)
    if (this.rows * SUMS > this.sums.length) {
      this.sums = grown(this.sums, 2 * this.sums.length)
      this.tallies = grown(this.tallies, 2 * this.tallies.length)
      this.ints = grown(this.ints, 2 * this.ints.length)
    }
    const i = row * INTS
    this.ints[i + ID] = id
    if (2 * this.rows > this.index.length) this.reindex(2 * this.index.length)
    else this.insert(row, id)
    if (stats.hasApdex) {
      this.ints[i + FLAGS] = HAS_APDEX | HAS_RARE
      this.rare.set(row, { apdex: [0, 0] })
    }
    this.merge(row, stats)
  }

  /** Adds `o`'s counts to `row`'s, as SeriesStats.merge does. */
  merge(row: number, o: SeriesStats): void {
    this.touched = true
    const n = row * SUMS
    const x = this.sums
    x[n + LATENCY_SUM] += o.latencySumMs
    x[n + REQ_NS_SUM] += o.sidecarReqNsSum
    x[n + RESP_NS_SUM] += o.sidecarRespNsSum
    const t = row * TALLIES
    this.tally(t + CALLS, o.calls)
    this.tally(t + SUCCESSES, o.successes)
    this.tally(t + HTTP_CALLS, o.httpCalls)
    this.tally(t + GRPC_CALLS, o.grpcCalls)
    this.tally(t + REQ_COUNT, o.sidecarReqCount)
    this.tally(t + RESP_COUNT, o.sidecarRespCount)
    this.mergeLatency(row, o.latency.firstBucket, o.latency.denseCounts)
    if (o.codeCount > 0) this.addCode(row, o.code, o.codeCount)
    if (o.otherCodes) for (let i = 0; i < o.otherCodes.length; i += 2) this.addCode(row, o.otherCodes[i], o.otherCodes[i + 1])
    if (o.apdex === undefined && o.responseFlags === undefined && o.tcp === undefined) return
    if (o.apdex !== undefined && (this.ints[row * INTS + FLAGS] & HAS_APDEX) !== 0) {
      const apdex = this.rare.get(row)!.apdex!
      apdex[0] += o.apdex[0]
      apdex[1] += o.apdex[1]
    }
    if (o.responseFlags) {
      const rare = this.rareOf(row)
      for (const [k, c] of o.responseFlags) addCount((rare.responseFlags ??= new Map()), k, c)
    }
    if (o.tcp) {
      const tcp = (this.rareOf(row).tcp ??= { connections: 0, receivedBytes: 0, sentBytes: 0 })
      tcp.connections += o.tcp.connections
      tcp.receivedBytes += o.tcp.receivedBytes
      tcp.sentBytes += o.tcp.sentBytes
    }
  }

  private tally(at: number, n: number): void {
    const v = this.tallies[at] + n
    if (v >>> 0 !== v && this.tallies instanceof Uint32Array) this.tallies = Float64Array.from(this.tallies)
    this.tallies[at] = v
  }

  /** The first status code inline (most series see one), the others as SeriesStats keeps them. */
  private addCode(row: number, code: number, count: number): void {
    const codeAt = row * SUMS + CODE
    const countAt = row * TALLIES + CODE_COUNT
    if (this.tallies[countAt] === 0) {
      this.sums[codeAt] = code
      this.tally(countAt, count)
    } else if (this.sums[codeAt] === code) this.tally(countAt, count)
    else addCode((this.rareOf(row).otherCodes ??= []), code, count)
  }

  private rareOf(row: number): Rare {
    const i = row * INTS + FLAGS
    if ((this.ints[i] & HAS_RARE) !== 0) return this.rare.get(row)!
    this.ints[i] |= HAS_RARE
    const rare: Rare = {}
    this.rare.set(row, rare)
    return rare
  }

  /** Adds dense latency counts starting at bucket `first`, widening the row's run to cover them first. */
  private mergeLatency(row: number, first: number, add: ReadonlyArray<number>): void {
    if (add.length === 0) return
    const i = row * INTS
    const ints = this.ints
    let base = ints[i + FIRST_BUCKET]
    let start = ints[i + START]
    const length = ints[i + LENGTH]
    const low = length === 0 ? first : Math.min(base, first)
    const high = length === 0 ? first + add.length - 1 : Math.max(base + length - 1, first + add.length - 1)
    if (length === 0 || low !== base || high !== base + length - 1) {
      const wider = high - low + 1
      // The last run in `counts` widens where it is; another moves to the end (its old place is dropped).
      const last = length > 0 && start + length === this.countsUsed
      if (!last && this.countsDropped > 1024 && this.countsDropped > this.countsUsed / 2) {
        this.compactCounts(this.countsUsed + wider)
        start = ints[i + START]
      }
      const to = last ? start : this.countsUsed
      if (to + wider > this.counts.length) this.counts = grown(this.counts, Math.max(to + wider, 2 * this.counts.length))
      const c = this.counts
      if (last) {
        c.copyWithin(to + base - low, start, start + length)
        c.fill(0, to, to + base - low)
        c.fill(0, to + base - low + length, to + wider)
      } else {
        c.fill(0, to, to + wider)
        if (length > 0) {
          c.copyWithin(to + base - low, start, start + length)
          this.countsDropped += length
        }
      }
      this.countsUsed = to + wider
      ints[i + FIRST_BUCKET] = base = low
      ints[i + START] = start = to
      ints[i + LENGTH] = wider
    }
    const at = start + first - base
    for (let j = 0; j < add.length; j++) {
      const v = this.counts[at + j] + add[j]
      if (v >>> 0 !== v && this.counts instanceof Uint32Array) this.counts = Float64Array.from(this.counts)
      this.counts[at + j] = v
    }
  }

  /** Rewrites `counts` without dropped slots, with room for `capacity`. */
  private compactCounts(capacity: number): void {
    const from = this.counts
    const to = new (from.constructor as new (n: number) => typeof from)(Math.max(capacity, this.countsUsed - this.countsDropped))
    let used = 0
    for (let i = 0; i < this.rows * INTS; i += INTS) {
      const length = this.ints[i + LENGTH]
      if (length === 0) continue
      const start = this.ints[i + START]
      to.set(from.subarray(start, start + length), used)
      this.ints[i + START] = used
      used += length
    }
    this.counts = to
    this.countsUsed = used
    this.countsDropped = 0
  }

  /** The row as a SeriesStats of its own. */
  statsOf(row: number): SeriesStats {
    const i = row * INTS
    const flags = this.ints[i + FLAGS]
    const s = new SeriesStats((flags & HAS_APDEX) !== 0)
    const n = row * SUMS
    const x = this.sums
    s.latencySumMs = x[n + LATENCY_SUM]
    s.sidecarReqNsSum = x[n + REQ_NS_SUM]
    s.sidecarRespNsSum = x[n + RESP_NS_SUM]
    s.code = x[n + CODE]
    const t = row * TALLIES
    const y = this.tallies
    s.calls = y[t + CALLS]
    s.successes = y[t + SUCCESSES]
    s.httpCalls = y[t + HTTP_CALLS]
    s.grpcCalls = y[t + GRPC_CALLS]
    s.codeCount = y[t + CODE_COUNT]
    s.sidecarReqCount = y[t + REQ_COUNT]
    s.sidecarRespCount = y[t + RESP_COUNT]
    const length = this.ints[i + LENGTH]
    if (length > 0) {
      const start = this.ints[i + START]
      s.latency.assign(this.ints[i + FIRST_BUCKET], Array.from(this.counts.subarray(start, start + length)))
    }
    if ((flags & HAS_RARE) === 0) return s
    const rare = this.rare.get(row)!
    if (rare.apdex && s.apdex) {
      s.apdex[0] = rare.apdex[0]
      s.apdex[1] = rare.apdex[1]
    }
    if (rare.otherCodes) s.otherCodes = [...rare.otherCodes]
    if (rare.responseFlags) s.responseFlags = new Map(rare.responseFlags)
    if (rare.tcp) s.tcp = { ...rare.tcp }
    return s
  }

  /** Entity numbers of the rows (for releasing them when the minute goes). */
  ids(): Array<number> {
    const out: Array<number> = new Array(this.rows)
    for (let r = 0; r < this.rows; r++) out[r] = this.ints[r * INTS + ID]
    return out
  }

  /**
   * Whether no merge came since the last call. A settled minute gives back its arrays' spare room (a late record
   * may still come: the arrays then grow again).
   */
  settled(): boolean {
    if (this.touched) {
      this.touched = false
      return false
    }
    if (this.sums.length > this.rows * SUMS) {
      this.sums = this.sums.slice(0, this.rows * SUMS)
      this.tallies = this.tallies.slice(0, this.rows * TALLIES)
      this.ints = this.ints.slice(0, this.rows * INTS)
      this.compactCounts(0)
      // Load ≤ 3/4 (2 × rows until the next add doubles it).
      let size = 32
      while (size * 3 < this.rows * 4) size *= 2
      if (size < this.index.length) this.reindex(size)
    }
    return true
  }

  /** The minute is gone (retention): it reads as empty from now on. */
  drop(): void {
    this.dropped = true
  }

  private insert(row: number, id: number): void {
    const index = this.index
    const mask = index.length - 1
    let h = slotOf(id, index)
    while (index[h] !== 0) h = (h + 1) & mask
    index[h] = row + 1
  }

  private reindex(size: number): void {
    this.index = new Int32Array(size)
    for (let r = 0; r < this.rows; r++) this.insert(r, this.ints[r * INTS + ID])
  }

  private rowOfKey(key: string): number {
    if (this.dropped) return -1
    const id = this.registry.idOf(key)
    return id === undefined ? -1 : this.rowOf(id)
  }

  private seriesAt(row: number): RowSeries {
    const entity = (this.ownEntities.size > 0 ? this.ownEntities.get(row) : undefined) ?? this.registry.entity(this.ints[row * INTS + ID])
    return new RowSeries(entity, this, row)
  }

  get(key: string): Series | undefined {
    const row = this.rowOfKey(key)
    return row < 0 ? undefined : this.seriesAt(row)
  }

  has(key: string): boolean {
    return this.rowOfKey(key) >= 0
  }

  *entries(): MapIterator<[string, Series]> {
    for (let r = 0; r < this.rows && !this.dropped; r++) yield [this.registry.key(this.ints[r * INTS + ID]), this.seriesAt(r)]
  }

  *keys(): MapIterator<string> {
    for (let r = 0; r < this.rows && !this.dropped; r++) yield this.registry.key(this.ints[r * INTS + ID])
  }

  *values(): MapIterator<Series> {
    for (let r = 0; r < this.rows && !this.dropped; r++) yield this.seriesAt(r)
  }

  [Symbol.iterator](): MapIterator<[string, Series]> {
    return this.entries()
  }

  forEach(visit: (value: Series, key: string, map: ReadonlyMap<string, Series>) => void): void {
    for (const [key, series] of this.entries()) visit(series, key, this)
  }
}

/** Whether two entities name the same thing in the same way (same fields, same values). */
const sameEntity = (a: Entity, b: Entity): boolean => {
  if (a === b) return true
  const x = a as unknown as Record<string, unknown>
  const y = b as unknown as Record<string, unknown>
  let fields = 0
  for (const k in x) {
    if (x[k] !== y[k]) return false
    fields++
  }
  return fields === Object.keys(y).length
}

/** Fibonacci hashing: the product's top bits, so that numbers alike in their low bits still spread. */
const slotOf = (id: number, index: Int32Array) => Math.imul(id, 0x9e3779b1) >>> (Math.clz32(index.length) + 1)

const grown = <A extends Float64Array | Uint32Array | Int32Array>(a: A, length: number): A => {
  const wider = new (a.constructor as new (n: number) => A)(length)
  wider.set(a)
  return wider
}
