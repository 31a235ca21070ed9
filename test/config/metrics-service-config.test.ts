// The MetricsService settings: on by default, SkyWalking's SW_ENVOY_METRIC_SERVICE as an alias, a one-line refusal
// for anything but true/false, and the proxy limits.
import { describe, expect, it } from "@effect/vitest"
import { Config, ConfigProvider, Effect, Exit } from "effect"
import { loadConfig } from "../../src/config.ts"

const load = (variables: Record<string, string>) =>
  loadConfig.pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(variables))))

describe("MetricsService settings", () => {
  it.effect("accepted by default, with limits on proxies and (proxy, cluster) pairs", () =>
    Effect.gen(function* () {
      const c = yield* load({})
      expect([c.acceptMetricsService, c.proxyMaxInstances, c.proxyMaxClusterPairs]).toStrictEqual([true, 10_000, 50_000])
    })
  )

  it.effect("true/false in any case, under meshsight's name or SkyWalking's; meshsight's wins", () =>
    Effect.gen(function* () {
      expect((yield* load({ SW_ENVOY_METRIC_SERVICE: "false" })).acceptMetricsService).toBe(false)
      expect((yield* load({ MESHSIGHT_ACCEPT_METRICS_SERVICE: " FALSE " })).acceptMetricsService).toBe(false)
      expect((yield* load({ MESHSIGHT_ACCEPT_METRICS_SERVICE: "True", SW_ENVOY_METRIC_SERVICE: "false" })).acceptMetricsService).toBe(true)
    })
  )

  it.effect("anything else stops start-up naming the variable", () =>
    Effect.gen(function* () {
      for (const [variable, value] of [
        ["SW_ENVOY_METRIC_SERVICE", "yes"],
        ["MESHSIGHT_PROXY_MAX_INSTANCES", "0"]
      ] as const) {
        const exit = yield* Effect.exit(load({ [variable]: value }))
        const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
        expect(error).toBeInstanceOf(Config.ConfigError)
        expect((error as Config.ConfigError).cause.message).toMatch(new RegExp(`^invalid ${variable}="${value}": expected`))
      }
    })
  )
})
