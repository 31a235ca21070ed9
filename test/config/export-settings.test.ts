// The Istio-standard export's settings: defaults, lists and header maps, authorization, and one-line refusals.
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { hostname } from "node:os"
import { loadConfig } from "../../src/config.ts"
import { remoteWriteHeaders } from "../../src/export/mesh-export.ts"

const load = (env: Record<string, string>) => loadConfig.pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))

const refusal = (env: Record<string, string>) =>
  Effect.gen(function* () {
    const error = yield* Effect.flip(load(env))
    return error.cause.message
  })

describe("export settings", () => {
  it.effect("defaults: export on, no remote write, 15 s interval, replica = host name", () =>
    Effect.gen(function* () {
      const c = yield* load({})
      expect([
        c.meshMetricsEnabled,
        c.meshMetricsIdleMinutes,
        c.meshMetricsMaxSeries,
        c.remoteWriteUrls,
        c.remoteWriteIntervalMs,
        c.replica
      ]).toStrictEqual([true, 10, 20_000, [], 15_000, hostname()])
    })
  )

  it.effect("several URLs, extra headers, basic auth before a bearer token", () =>
    Effect.gen(function* () {
      const c = yield* load({
        MESHSIGHT_MESH_METRICS: "false",
        MESHSIGHT_REMOTE_WRITE_URL: " http://a:9090/api/v1/write , https://b/api/v1/write",
        MESHSIGHT_REMOTE_WRITE_HEADERS: "X-Scope-OrgID=team-a, X-Other = b=c",
        MESHSIGHT_REMOTE_WRITE_USERNAME: "u",
        MESHSIGHT_REMOTE_WRITE_PASSWORD: "p:w",
        MESHSIGHT_REMOTE_WRITE_BEARER_TOKEN: "t"
      })
      expect(c.meshMetricsEnabled).toBe(false)
      expect(c.remoteWriteUrls).toStrictEqual(["http://a:9090/api/v1/write", "https://b/api/v1/write"])
      expect(remoteWriteHeaders(c)).toStrictEqual({
        authorization: `Basic ${Buffer.from("u:p:w").toString("base64")}`,
        "X-Scope-OrgID": "team-a",
        "X-Other": "b=c"
      })
      expect(remoteWriteHeaders({ ...c, remoteWriteUsername: "" }).authorization).toStrictEqual("Bearer t")
    })
  )

  it.effect("refuses what cannot work, naming the variable", () =>
    Effect.gen(function* () {
      expect(yield* refusal({ MESHSIGHT_REMOTE_WRITE_URL: "prometheus:9090" })).toBe(
        'invalid MESHSIGHT_REMOTE_WRITE_URL="prometheus:9090": expected comma-separated http:// or https:// URLs'
      )
      expect(yield* refusal({ MESHSIGHT_REMOTE_WRITE_HEADERS: "no-equals-sign" })).toMatch(/^invalid MESHSIGHT_REMOTE_WRITE_HEADERS=/)
      expect(yield* refusal({ MESHSIGHT_MESH_METRICS: "yes" })).toMatch(/expected true or false$/)
      expect(yield* refusal({ MESHSIGHT_REMOTE_WRITE_INTERVAL_MS: "10" })).toMatch(/^invalid MESHSIGHT_REMOTE_WRITE_INTERVAL_MS="10"/)
    })
  )
})
