// SkyWalking's `rateLimit { rpm N }` sampler: each key may pass N times per minute, and the counts start over every
// minute (SkyWalking resets them on a one-minute timer; meshsight at each minute of the clock, so TestClock drives it).
import { minuteOf } from "../domain/minute.ts"

/** Keys one minute may track; a flood of distinct keys (made-up response codes) past this is refused, not tracked. */
export const MAX_KEYS_PER_MINUTE = 100_000

export interface RateLimiter {
  /** Whether one more item of `key` may pass at `nowMs`. */
  readonly admit: (key: string, nowMs: number) => boolean
}

export const makeRateLimiter = (perMinute: number): RateLimiter => {
  let minute = Number.NEGATIVE_INFINITY
  const counts = new Map<string, number>()
  return {
    admit: (key, nowMs) => {
      const m = minuteOf(nowMs)
      if (m !== minute) {
        // Also when the clock steps back: a new window either way.
        minute = m
        counts.clear()
      }
      const n = counts.get(key)
      if (n === undefined) {
        if (counts.size >= MAX_KEYS_PER_MINUTE) return false
        counts.set(key, 1)
        return perMinute >= 1
      }
      if (n >= perMinute) return false
      counts.set(key, n + 1)
      return true
    }
  }
}
