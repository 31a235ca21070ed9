// tallyReporter counts a tally into counters with attributes: each attribute set its own series, the one
// `Metric.withAttributes` names, however the sets alternate from one tally to the next.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { recordsProduced, tallyReporter } from "../../src/telemetry.ts"

interface Tally {
  client: number
  server: number
}

const countOf = (detectPoint: string) =>
  Metric.value(Metric.withAttributes(recordsProduced, { detect_point: detectPoint })).pipe(Effect.map((s) => s.count))

describe("tallyReporter", () => {
  it.effect("adds each count to its attribute set's series, the sets alternating", () =>
    Effect.gen(function* () {
      const report = tallyReporter<Tally>(yield* Effect.context<never>(), [
        [recordsProduced, { detect_point: "client" }, (t) => t.client],
        [recordsProduced, { detect_point: "server" }, (t) => t.server]
      ])
      const client = yield* countOf("client")
      const server = yield* countOf("server")
      for (let i = 1; i <= 50; i++) report({ client: i, server: 2 * i })
      report({ client: 0, server: 7 })
      expect((yield* countOf("client")) - client).toBe(1275)
      expect((yield* countOf("server")) - server).toBe(2557)
    })
  )

  it.effect("refuses, when it is built, a counter with attributes that telemetry.ts did not declare", () =>
    Effect.gen(function* () {
      const context = yield* Effect.context<never>()
      const stranger = Metric.counter("test_stranger_total", { description: "not declared in telemetry.ts" })
      expect(() => tallyReporter<Tally>(context, [[stranger, { side: "x" }, (t) => t.client]])).toThrow(/declared in telemetry\.ts/)
      expect(() => tallyReporter<Tally>(context, [[stranger, undefined, (t) => t.client]])).not.toThrow()
    })
  )
})
