// A small seeded PRNG (mulberry32) so that simulated traffic is the same for the same seed.
export interface Random {
  /** Uniform in [0, 1). */
  readonly next: () => number
  readonly int: (maxExclusive: number) => number
  readonly pick: <A>(items: ReadonlyArray<A>) => A
  /** Log-normal with the given median and shape (sigma of the underlying normal). */
  readonly logNormal: (median: number, sigma: number) => number
}

/** mulberry32: uniform draws in [0, 1), the same sequence for the same seed (the tests' generators use it too). */
export const mulberry32 = (seed: number): (() => number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const seededRandom = (seed: number): Random => {
  const next = mulberry32(seed)
  const int = (maxExclusive: number) => Math.floor(next() * maxExclusive)
  return {
    next,
    int,
    pick: (items) => items[int(items.length)],
    logNormal: (median, sigma) => {
      // Box–Muller; 1 − u keeps the logarithm finite.
      const normal = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next())
      return median * Math.exp(sigma * normal)
    }
  }
}
