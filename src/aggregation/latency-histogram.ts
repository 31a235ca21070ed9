// A mergeable log-linear latency histogram in whole milliseconds. Values below 32 ms have a bucket each (exact);
// above, every power of two is split into 16 equal buckets, so a bucket spans at most 1/16 of its lower bound and
// a percentile reported at the bucket's midpoint is within ±3.2 % of the true value. Merging adds counts, so
// minutes, instances or ranges combine without losing accuracy (SkyWalking uses fixed 10 ms buckets instead).

const EXACT_BELOW = 32
const SUB_BUCKETS = 16
const SUB_BITS = 4

export const bucketOf = (ms: number): number => {
  const v = Math.max(0, Math.floor(ms))
  if (v < EXACT_BELOW) return v
  const exponent = 31 - Math.clz32(v) // floor(log2 v), ≥ 5 here
  const sub = (v >>> (exponent - SUB_BITS)) - SUB_BUCKETS
  return EXACT_BELOW + (exponent - 5) * SUB_BUCKETS + sub
}

/** The value a bucket stands for: itself below 32 ms, else the midpoint of its span. */
export const bucketValue = (index: number): number => {
  if (index < EXACT_BELOW) return index
  const exponent = Math.floor((index - EXACT_BELOW) / SUB_BUCKETS) + 5
  const sub = (index - EXACT_BELOW) % SUB_BUCKETS
  const width = 2 ** (exponent - SUB_BITS)
  const lower = (SUB_BUCKETS + sub) * width
  return lower + (width - 1) / 2
}

export class LatencyHistogram {
  readonly counts = new Map<number, number>()
  total = 0

  record(ms: number): void {
    const b = bucketOf(ms)
    this.counts.set(b, (this.counts.get(b) ?? 0) + 1)
    this.total++
  }

  merge(other: LatencyHistogram): void {
    for (const [b, n] of other.counts) this.counts.set(b, (this.counts.get(b) ?? 0) + n)
    this.total += other.total
  }

  /** Nearest-rank percentiles (e.g. [50, 90, 99]) in one pass over the sorted buckets; 0 when empty. */
  percentiles(ps: ReadonlyArray<number>): Array<number> {
    if (this.total === 0) return ps.map(() => 0)
    const buckets = [...this.counts.keys()].sort((a, b) => a - b)
    const out: Array<number> = []
    let seen = 0
    let i = 0
    for (const p of ps) {
      const rank = Math.max(1, Math.ceil((p / 100) * this.total))
      while (seen + this.counts.get(buckets[i])! < rank) {
        seen += this.counts.get(buckets[i])!
        i++
      }
      out.push(Math.round(bucketValue(buckets[i])))
    }
    return out
  }
}
