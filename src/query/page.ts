// Pages of a name-ordered list (GET /api/services, …/instances, …/endpoints): `limit` items after `cursor`, the
// name of the last item of the previous page. Names keep the lists' order (localeCompare's), made total by code
// units where the collator calls two names equal, so that a cursor names one place in the list.
import { Effect } from "effect"

/** The most items a page holds, and the default: a page of endpoints stays within a few MiB of JSON. */
export const MAX_PAGE_ITEMS = 1000

export interface PageRequest {
  readonly limit: number
  /** The last name of the previous page; the page starts after it. */
  readonly cursor?: string | undefined
}

export const FIRST_PAGE: PageRequest = { limit: MAX_PAGE_ITEMS }

// Made on the first comparison, not at start-up: a collator loads ICU's collation data, ~2 MiB of resident memory
// (measured, docs/performance.md round twelve) that a service nobody queries never needs.
let collator: Intl.Collator | undefined
/** The lists' order: the default collation, code units between names it calls equal. */
export const compareNames = (a: string, b: string): number =>
  (collator ??= new Intl.Collator()).compare(a, b) || (a < b ? -1 : a > b ? 1 : 0)

/**
 * The `limit` first distinct names after the cursor among those offered, each with a value made on its first
 * offer. One pass, memory bounded by the page: a name past the window is dropped at two comparisons (sorting
 * 500 k endpoint names instead took 2 s in one go).
 */
export class PageWindow<T> {
  private readonly names: Array<string> = []
  private readonly values: Array<T> = []
  private readonly capacity: number
  private readonly after: string | undefined

  constructor(page: PageRequest) {
    // One more than the page: whether it exists says if there is a next page.
    this.capacity = page.limit + 1
    this.after = page.cursor
  }

  /** The name's value (made now if the name is new to the window); undefined when the name is outside it. */
  offer(name: string, make: () => T): T | undefined {
    if (this.after !== undefined && compareNames(name, this.after) <= 0) return undefined
    const names = this.names
    if (names.length === this.capacity && compareNames(name, names[names.length - 1]) > 0) return undefined
    let lo = 0
    let hi = names.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareNames(names[mid], name) < 0) lo = mid + 1
      else hi = mid
    }
    if (names[lo] === name) return this.values[lo]
    const value = make()
    names.splice(lo, 0, name)
    this.values.splice(lo, 0, value)
    if (names.length > this.capacity) {
      names.pop()
      this.values.pop()
    }
    return value
  }

  /** The page's names and values, and the cursor of the next page (null on the last). */
  result(limit: number): { readonly entries: ReadonlyArray<readonly [string, T]>; readonly nextCursor: string | null } {
    const n = Math.min(limit, this.names.length)
    const entries = this.names.slice(0, n).map((name, i) => [name, this.values[i]] as const)
    return { entries, nextCursor: this.names.length > limit ? this.names[n - 1] : null }
  }
}

/**
 * Items of work between two yields to the event loop: a few milliseconds at most. 4096 let gRPC health calls wait
 * 32–70 ms (p99) while 100 k endpoints were paged, and once 104 ms in CI; 1024: 26–46 ms, the queries no slower
 * (test/memory/query-during-ingest.test.ts, five runs each, alternately).
 */
export const SLICE = 1024

/**
 * Lets the event loop run (gRPC reads, /healthz, timers) before the query goes on: a macrotask, not a microtask,
 * so that I/O waiting since the last slice is served.
 */
export const breathe: Effect.Effect<void> = Effect.callback<void>((resume) => {
  setImmediate(() => resume(Effect.void))
})
