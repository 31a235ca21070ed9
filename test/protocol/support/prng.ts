// The draws the protocol tests need over the simulator's seeded PRNG: deterministic breadth, no npm dependency.
import { mulberry32 } from "../../../sim/random.ts"

export interface Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number
  /** Integer in [lo, hi]. */
  readonly int: (lo: number, hi: number) => number
  readonly chance: (p: number) => boolean
  readonly pick: <A>(items: ReadonlyArray<A>) => A
  readonly bytes: (n: number) => Uint8Array
  /** A string from the alphabet; `ALPHABET` mixes ASCII, multi-byte UTF-8, astral code points and a BOM. */
  readonly string: (maxLength: number, alphabet?: ReadonlyArray<string>) => string
}

/**
 * U+FEFF matters: a UTF-8 decoder that strips a leading byte order mark changes the value protobuf carries.
 * Multi-byte and astral characters take the non-interned decoding path of the wire reader.
 */
export const ALPHABET: ReadonlyArray<string> = [
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/|@ ",
  "é",
  "ß",
  "中",
  "\u{1F600}",
  "\uFEFF",
  "\u0000"
]

export const makeRng = (seed: number): Rng => {
  const next = mulberry32(seed)
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1))
  const pick = <A>(items: ReadonlyArray<A>): A => items[int(0, items.length - 1)]
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick,
    bytes: (n) => Uint8Array.from({ length: n }, () => int(0, 255)),
    string: (maxLength, alphabet = ALPHABET) => Array.from({ length: int(0, maxLength) }, () => pick(alphabet)).join("")
  }
}
