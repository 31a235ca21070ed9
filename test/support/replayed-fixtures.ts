// The captured Envoy messages sent over real gRPC into an in-process meshsight in virtual time, as the fixtures'
// cluster (test/support/ip-table-analyzer.ts) names them; shared by the tests that read them back.
import { expect } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { sendAlsMessages } from "./als-client.ts"
import { ALS_FIXTURES, fixtureBytes } from "./fixtures.ts"
import { getJson } from "./http-json.ts"
import { fixtureClusterK8sMesh } from "./ip-table-analyzer.ts"
import { startMeshsight } from "./meshsight.ts"

/** The fixtures' minute (2019-04-13 03:59 UTC) and a moment just after it, as the virtual "now". */
export const FIXTURE_MINUTE = Date.UTC(2019, 3, 13, 3, 59)
export const FIXTURE_NOW = FIXTURE_MINUTE + 90_000
export const FIXTURE_RANGE = `start=${FIXTURE_MINUTE}&end=${FIXTURE_MINUTE + 60_000}`

export const replayFixtures = (version: "v2" | "v3" = "v3") =>
  Effect.gen(function* () {
    // Virtual time starts before the app does, so its flush loop runs from there (see test/aggregation).
    yield* TestClock.setTime(FIXTURE_NOW)
    const app = yield* startMeshsight({
      analyzers: fixtureClusterK8sMesh,
      config: { MESHSIGHT_HTTP_ANALYZERS: "k8s-mesh", MESHSIGHT_TCP_ANALYZERS: "k8s-mesh" }
    })
    for (const name of ALS_FIXTURES) {
      const status = yield* Effect.promise(() => sendAlsMessages(app.alsPort, [fixtureBytes(name)], version))
      expect(status, name).toStrictEqual({ code: 0, details: "" })
    }
    yield* TestClock.adjust("1 second") // the aggregator's flush beat
    return app
  })

export const api = (url: string, path: string) => Effect.promise(() => getJson(url, path))
