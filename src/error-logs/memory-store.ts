// The embedded error-log store: bounded per service and in all, oldest evicted first, and kept no longer than the
// metrics (MESHSIGHT_RETENTION_MINUTES). What a replica holds is what its own proxies reported.
import { Effect, Layer } from "effect"
import { retentionMinutes } from "../store/metric-store.ts"
import { settingsConfig } from "../util/setting.ts"
import { errorLogsMax, errorLogsPerService } from "./settings.ts"
import { MINUTE_MS } from "../domain/minute.ts"
import { type ErrorLog, type LogQuery, matches, pageOf } from "./error-log.ts"
import { ErrorLogStore, type ErrorLogStoreShape, type NewErrorLog } from "./error-log-store.ts"

interface Held {
  readonly log: ErrorLog
  readonly seq: number
  alive: boolean
}

/** An array used as a queue: shifting moves a head index; the array is compacted when half of it is behind. */
class Fifo<T> {
  items: Array<T> = []
  head = 0
  get size() {
    return this.items.length - this.head
  }
  push(x: T) {
    this.items.push(x)
  }
  peek(): T | undefined {
    return this.items[this.head]
  }
  shift(): T | undefined {
    const x = this.items[this.head]
    this.items[this.head++] = undefined as T
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return x
  }
  *values(): Iterable<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]
  }
}

export interface MemoryLogStoreOptions {
  readonly perService: number
  readonly total: number
  readonly retentionMinutes: number
}

export const makeMemoryLogStore = (options: MemoryLogStoreOptions): ErrorLogStoreShape & { readonly size: () => number } => {
  const byService = new Map<string, Fifo<Held>>()
  // Every log in arrival order; entries evicted by their service's cap stay here, dead, until they reach the head
  // or a compaction drops them.
  const all = new Fifo<Held>()
  let alive = 0
  let seq = 0

  const removeOldestOf = (service: string, queue: Fifo<Held>) => {
    queue.shift()!.alive = false
    alive--
    if (queue.size === 0) byService.delete(service)
  }

  /** Drops the oldest live log overall: it is also the oldest of its service. */
  const evictOldest = () => {
    for (let h = all.shift(); h !== undefined; h = all.shift()) {
      if (!h.alive) continue
      removeOldestOf(h.log.service, byService.get(h.log.service)!)
      return
    }
  }

  const prune = (nowMs: number) => {
    const cutoff = nowMs - options.retentionMinutes * MINUTE_MS
    for (let h = all.peek(); h !== undefined && (!h.alive || h.log.time < cutoff); h = all.peek()) {
      all.shift()
      if (h.alive) removeOldestOf(h.log.service, byService.get(h.log.service)!)
    }
  }

  return {
    add: (logs: ReadonlyArray<NewErrorLog>, nowMs: number) => {
      prune(nowMs)
      let evicted = 0
      for (const log of logs) {
        const held: Held = { log: { ...log, id: String(++seq) }, seq, alive: true }
        let queue = byService.get(log.service)
        if (queue === undefined) byService.set(log.service, (queue = new Fifo()))
        queue.push(held)
        all.push(held)
        alive++
        if (queue.size > options.perService) {
          removeOldestOf(log.service, queue)
          evicted++
        }
        if (alive > options.total) {
          evictOldest()
          evicted++
        }
      }
      if (all.size > 2 * alive + 1024) {
        const live = new Fifo<Held>()
        for (const h of all.values()) if (h.alive) live.push(h)
        all.items = live.items
        all.head = 0
      }
      return evicted
    },
    query: (q: LogQuery, nowMs: number) =>
      Effect.sync(() => {
        prune(nowMs)
        const source = q.service !== undefined ? (byService.get(q.service)?.values() ?? []) : all.values()
        const found: Array<{ readonly log: ErrorLog; readonly position: { time: number; id: number } }> = []
        for (const h of source) {
          if (h.alive && matches(h.log, q)) found.push({ log: h.log, position: { time: h.log.time, id: h.seq } })
        }
        return pageOf(found, q)
      }),
    size: () => alive
  }
}

export const MemoryLogStoreLive = Layer.effect(
  ErrorLogStore,
  Effect.gen(function* () {
    const c = yield* settingsConfig({ errorLogsPerService, errorLogsMax, retentionMinutes })
    return makeMemoryLogStore({ perService: c.errorLogsPerService, total: c.errorLogsMax, retentionMinutes: c.retentionMinutes })
  })
)
