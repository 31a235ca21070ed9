import { PassThrough, Readable } from "node:stream"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { readableSource } from "../../src/ingest/message-source.ts"
import { StreamBroken } from "../../src/ingest/stream-errors.ts"

const bytes = (...values: Array<number>) => values.map((v) => Uint8Array.of(v))

describe("readableSource", () => {
  it.effect("hands over every message in order, then runs what follows the end", () =>
    Effect.gen(function* () {
      const seen: Array<number> = []
      let checkedAfterEnd = false
      const source = readableSource(
        Readable.from(bytes(1, 2, 3)),
        Effect.sync(() => (checkedAfterEnd = true))
      )
      yield* source.consume((m) => seen.push(m[0]) > 0)
      expect(seen).toEqual([1, 2, 3])
      expect(checkedAfterEnd).toBe(true)
    })
  )

  it.effect("keeps an error emitted after the end from going unheard (it would end the process)", () =>
    Effect.gen(function* () {
      const readable = new PassThrough({ objectMode: true, autoDestroy: false })
      const fiber = yield* Effect.forkChild(readableSource(readable).consume(() => true))
      readable.end(Uint8Array.of(1))
      yield* Fiber.join(fiber)
      // Without a listener, emitting 'error' throws it.
      expect(() => readable.destroy(new Error("reset after the end"))).not.toThrow()
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      expect(readable.listenerCount("error")).toBeGreaterThan(0)
    })
  )

  it.effect("stops when the consumer says so: no more messages, the readable destroyed, nothing after the end run", () =>
    Effect.gen(function* () {
      const readable = Readable.from(bytes(1, 2, 3, 4))
      const seen: Array<number> = []
      let checkedAfterEnd = false
      yield* readableSource(
        readable,
        Effect.sync(() => (checkedAfterEnd = true))
      ).consume((m) => seen.push(m[0]) < 2)
      expect(seen).toEqual([1, 2])
      expect(readable.destroyed).toBe(true)
      expect(checkedAfterEnd).toBe(false)
    })
  )

  it.effect("ends as StreamBroken, with the cause's message, when the readable fails", () =>
    Effect.gen(function* () {
      const readable = new PassThrough({ objectMode: true })
      const seen: Array<number> = []
      const fiber = yield* Effect.forkChild(readableSource(readable).consume((m) => seen.push(m[0]) > 0))
      readable.write(Uint8Array.of(7))
      yield* Effect.yieldNow
      readable.destroy(new Error("the client cancelled the stream"))
      const exit = yield* Fiber.await(fiber)
      expect(seen).toEqual([7])
      expect(exit).toEqual(Exit.fail(new StreamBroken({ detail: "the client cancelled the stream" })))
    })
  )

  it.effect("ends as StreamBroken when the readable is closed without an error, before or while it is read", () =>
    Effect.gen(function* () {
      const closed = new PassThrough({ objectMode: true })
      closed.destroy()
      const early = yield* Effect.exit(readableSource(closed).consume(() => true))
      expect(early).toEqual(Exit.fail(new StreamBroken({ detail: "the stream was closed before it ended" })))
      const readable = new PassThrough({ objectMode: true })
      const fiber = yield* Effect.forkChild(readableSource(readable).consume(() => true))
      yield* Effect.yieldNow
      readable.destroy()
      expect(yield* Fiber.await(fiber)).toEqual(Exit.fail(new StreamBroken({ detail: "the stream was closed before it ended" })))
    })
  )

  it.effect("dies with a consumer's defect instead of throwing it into the readable's event", () =>
    Effect.gen(function* () {
      const readable = Readable.from(bytes(1, 2))
      const exit = yield* Effect.exit(
        readableSource(readable).consume(() => {
          throw new Error("a bug")
        })
      )
      expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
      expect(readable.destroyed).toBe(true)
    })
  )

  it.effect("closes the readable when interrupted", () =>
    Effect.gen(function* () {
      const readable = new PassThrough({ objectMode: true })
      const fiber = yield* Effect.forkChild(readableSource(readable).consume(() => true))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
      expect(readable.destroyed).toBe(true)
    })
  )
})
