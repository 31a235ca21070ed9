// The list/watch supervisor's backoff, in virtual time: capped exponential delays with jitter after failures,
// back to the base delay once a watch has made progress, and no end to the retries.
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Random } from "effect"
import { TestClock } from "effect/testing"
import type { ResourceClient, ResourceSync } from "../../../src/identity/k8s-mesh/resource-sync.ts"
import { superviseResource } from "../../../src/identity/k8s-mesh/resource-sync.ts"

/** The supervisor over a stub client; `attempts` collects the virtual time of each list or watch call. */
const supervised = (client: (attempts: Array<number>, now: () => number) => ResourceClient) =>
  Effect.gen(function* () {
    const clock = yield* Clock.Clock
    const attempts: Array<number> = []
    const upserts: Array<unknown> = []
    const sync: ResourceSync<unknown> = {
      resource: "pods",
      client: client(attempts, () => clock.currentTimeMillisUnsafe()),
      project: (o) => o,
      store: { replaceAll: () => {}, upsert: (o) => void upserts.push(o), remove: () => {} },
      onListed: () => Effect.void
    }
    const fiber = yield* Effect.forkChild(superviseResource(sync).pipe(Random.withSeed(7)))
    return { attempts, upserts, fiber }
  })

/** Advances virtual time in small steps, letting the stub's promises settle between them. */
const advance = (seconds: number) =>
  Effect.gen(function* () {
    for (let ms = 0; ms < seconds * 1000; ms += 50) {
      yield* TestClock.adjust("50 millis")
      yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
    }
  })

const delays = (times: ReadonlyArray<number>) => times.slice(1).map((t, i) => t - times[i])

const assertJittered = (actual: ReadonlyArray<number>, expected: ReadonlyArray<number>) => {
  expect(actual.length, `delays ${actual}`).toBe(expected.length)
  actual.forEach((d, i) => {
    expect(d, `delay ${i}: ${d} ms`).toBeGreaterThanOrEqual(expected[i] * 800 - 50)
    expect(d, `delay ${i}: ${d} ms`).toBeLessThanOrEqual(expected[i] * 1200 + 50)
  })
}

describe("k8s-mesh list/watch backoff", () => {
  it.effect("doubles from 1 s up to the 30 s cap, with jitter, and keeps retrying", () =>
    Effect.gen(function* () {
      const { attempts, fiber } = yield* supervised((attempts, now) => ({
        listPage: () => (attempts.push(now()), Promise.reject(new Error("connect ECONNREFUSED"))),
        watch: () => Promise.reject(new Error("not reached"))
      }))
      yield* advance(160)
      // 1 + 2 + 4 + 8 + 16 + 30 + 30 + 30 + 30 s ≈ 151 s, give or take the jitter.
      assertJittered(delays(attempts).slice(0, 8), [1, 2, 4, 8, 16, 30, 30, 30])
      expect(fiber.pollUnsafe(), "still retrying").toBeUndefined()
      yield* Fiber.interrupt(fiber)
    })
  )

  it.effect("starts again from the base delay after a watch that delivered events", () =>
    Effect.gen(function* () {
      let lists = 0
      let watches = 0
      const { attempts, upserts, fiber } = yield* supervised((attempts, now) => ({
        listPage: () => {
          attempts.push(now())
          return ++lists <= 3
            ? Promise.reject(new Error("HTTP 500"))
            : Promise.resolve({ items: [], resourceVersion: "5", continueToken: undefined })
        },
        watch: (_rv, onEvent, onDone) => {
          attempts.push(now())
          // The first watch delivers an event and then drops; the later ones fail at once.
          if (++watches === 1)
            setImmediate(() => (onEvent("ADDED", { metadata: { resourceVersion: "6" } }), onDone(new Error("terminated"))))
          else setImmediate(() => onDone(new Error("connect ECONNREFUSED")))
          return Promise.resolve(new AbortController())
        }
      }))
      yield* advance(12)
      // list ✗ 1 s list ✗ 2 s list ✗ 4 s list ✓ → watch (event, dropped) → watch ✗ 1 s watch ✗ 2 s watch …
      const d = delays(attempts)
      assertJittered(d.slice(0, 3), [1, 2, 4])
      expect(d[3] + d[4], "list, then watch, then the immediate re-watch").toBeLessThanOrEqual(50)
      assertJittered(d.slice(5, 7), [1, 2])
      expect(upserts.length).toBe(1)
      yield* Fiber.interrupt(fiber)
    })
  )
})
