// A mergeable log-linear latency histogram in whole milliseconds. Values below 32 ms have a bucket each (exact);
// above, every power of two is split into 16 equal buckets, so a bucket spans at most 1/16 of its lower bound and
// a percentile reported at the bucket's midpoint is within ±3.2 % of the true value. Merging adds counts, so
// minutes, instances or ranges combine without losing accuracy (SkyWalking uses fixed 10 ms buckets instead).

const EXACT_BELOW = 32
const SUB_BUCKETS = 16
const SUB_BITS = 4

/**
 * The largest latency Envoy can log: google.protobuf.Duration tops out at 315,576,000,000 s (10,000 years).
 * Larger values (only a broken clock gives them) share the last bucket.
 */
export const MAX_DURATION_MS = 315_576_000_000_999

/** 2^32: below it whole numbers fit 32-bit operators. */
const TWO_POW_32 = 4294967296

/** floor(log2 v) for 1 ≤ v < 2^53, exact: Math.log2 may round across a power of two, so it is corrected. */
const floorLog2 = (v: number): number => {
  let e = Math.floor(Math.log2(v))
  if (2 ** e > v) e--
  else if (2 ** (e + 1) <= v) e++
  return e
}

export const bucketOf = (ms: number): number => {
  const v = Math.min(Math.max(0, Math.floor(ms)), MAX_DURATION_MS)
  if (v < EXACT_BELOW) return v
  // Below 2^32 ms (every real latency) 32-bit operators are exact and ~6× cheaper than Math.log2 and a division,
  // which matters: a record buckets its latency once per series it touches (up to five). Beyond, they would wrap.
  const small = v < TWO_POW_32
  const exponent = small ? 31 - Math.clz32(v) : floorLog2(v) // ≥ 5 here
  const top = small ? v >>> (exponent - SUB_BITS) : Math.floor(v / 2 ** (exponent - SUB_BITS))
  return EXACT_BELOW + (exponent - 5) * SUB_BUCKETS + top - SUB_BUCKETS
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

/**
 * Counts per bucket, kept dense from the lowest bucket seen to the highest: a series' latencies cluster, so the
 * array stays short (one slot for a series whose calls all took the same few ms) — a fraction of a Map's memory,
 * which matters at 100 k live series — and recording is an index, not a hash lookup.
 */
export class LatencyHistogram {
  /** Bucket index of `slots[0]`. */
  private base = 0
  private slots: Array<number> = []
  total = 0

  record(ms: number): void {
    this.add(bucketOf(ms), 1)
  }

  /** Adds `n` calls to bucket index `bucket` (as `counts` lists them; rebuilt series: src/workers/, a TSDB's sums). */
  add(bucket: number, n: number): void {
    const slots = this.slots
    this.total += n
    if (slots.length === 0) {
      this.base = bucket
      this.slots = [n]
      return
    }
    const i = bucket - this.base
    if (i >= 0 && i < slots.length) {
      slots[i] += n
      return
    }
    // Widen to exactly the new range: arrays grown by push keep spare capacity, which 100 k series would pay for.
    const low = Math.min(bucket, this.base)
    const wider: Array<number> = new Array<number>(Math.max(bucket, this.base + slots.length - 1) - low + 1).fill(0)
    for (let j = 0; j < slots.length; j++) wider[this.base - low + j] = slots[j]
    wider[bucket - low] += n
    this.base = low
    this.slots = wider
  }

  /** The bucket that `denseCounts` starts at (the store keeps histograms in arrays of its own: src/store/). */
  get firstBucket(): number {
    return this.base
  }

  /** The counts from `firstBucket` up to the highest bucket seen, zeros between; empty when nothing was recorded. */
  get denseCounts(): ReadonlyArray<number> {
    return this.slots
  }

  /** Takes `counts` (dense, from bucket `first` up) as its own: a histogram kept elsewhere, as an object again. */
  assign(first: number, counts: Array<number>): void {
    let total = 0
    for (const n of counts) total += n
    this.base = first
    this.slots = counts
    this.total = total
  }

  /** The non-empty buckets and their counts, lowest first. */
  get counts(): Map<number, number> {
    const out = new Map<number, number>()
    this.slots.forEach((n, i) => {
      if (n > 0) out.set(this.base + i, n)
    })
    return out
  }

  merge(other: LatencyHistogram): void {
    if (other.slots.length === 0) return
    // Widen once to the combined range (a filled histogram's first and last slots are non-zero), so the adds below
    // land in place instead of growing the array one bucket at a time.
    this.add(other.base, 0)
    this.add(other.base + other.slots.length - 1, 0)
    other.slots.forEach((n, i) => {
      if (n > 0) this.add(other.base + i, n)
    })
  }

  /** Nearest-rank percentiles (e.g. [50, 90, 99]) in one pass over the buckets; 0 when empty. */
  percentiles(ps: ReadonlyArray<number>): Array<number> {
    if (this.total === 0) return ps.map(() => 0)
    const out: Array<number> = []
    let seen = 0
    let i = 0
    for (const p of ps) {
      const rank = Math.max(1, Math.ceil((p / 100) * this.total))
      while (seen + this.slots[i] < rank) {
        seen += this.slots[i]
        i++
      }
      out.push(Math.round(bucketValue(this.base + i)))
    }
    return out
  }
}
