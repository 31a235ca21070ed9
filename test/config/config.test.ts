// Settings from the environment: defaults, meshsight names, SkyWalking aliases, and one-line refusals.
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit } from "effect"
import { DEFAULT_MX_SERVICE_NAME_RULE, InvalidSetting, loadConfig } from "../../src/config.ts"
import { runMeshsightToExit, spawnMeshsight } from "../support/meshsight-process.ts"

const load = (env: Record<string, string>) =>
  loadConfig.pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))

const refusal = (env: Record<string, string>) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(load(env))
    assert.isTrue(Exit.isFailure(exit))
    const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
    assert.instanceOf(error, InvalidSetting)
    return (error as InvalidSetting).message
  })

describe("configuration", () => {
  it.effect("embedded defaults: gRPC 0.0.0.0:11800, HTTP 12800, mx-mesh for HTTP and TCP", () =>
    Effect.gen(function*() {
      const c = yield* load({})
      assert.deepStrictEqual(
        [c.grpcHost, c.grpcPort, c.alsGrpcPort, c.httpHost, c.httpPort],
        ["0.0.0.0", 11800, 0, "0.0.0.0", 12800]
      )
      assert.deepStrictEqual([c.httpAnalyzers, c.tcpAnalyzers], [["mx-mesh"], ["mx-mesh"]])
      assert.strictEqual(c.grpcMaxMessageBytes, 16 * 1024 * 1024)
      assert.strictEqual(c.mxServiceNameRule, DEFAULT_MX_SERVICE_NAME_RULE)
      assert.deepStrictEqual([c.retentionMinutes, c.flushIntervalMs, c.apdexThresholdMs], [120, 1000, 500])
    }))

  it.effect("SkyWalking's variable names are accepted as aliases", () =>
    Effect.gen(function*() {
      const c = yield* load({
        SW_RECEIVER_GRPC_PORT: "11900",
        SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS: "k8s-mesh,mx-mesh",
        SW_ENVOY_METRIC_ALS_TCP_ANALYSIS: "k8s-mesh",
        SW_ALS_GRPC_MAX_MESSAGE_SIZE: "4194304",
        SW_ALS_GRPC_PORT: "11801"
      })
      assert.deepStrictEqual([c.grpcHost, c.grpcPort, c.alsGrpcPort], ["0.0.0.0", 11900, 11801])
      assert.deepStrictEqual(c.httpAnalyzers, ["k8s-mesh", "mx-mesh"])
      assert.deepStrictEqual(c.tcpAnalyzers, ["k8s-mesh"])
      assert.strictEqual(c.grpcMaxMessageBytes, 4194304)
    }))

  it.effect("meshsight's own name wins over an alias; addresses take host:port and [v6]:port", () =>
    Effect.gen(function*() {
      const c = yield* load({ MESHSIGHT_GRPC_ADDRESS: "[::1]:9000", SW_CORE_GRPC_PORT: "1234", MESHSIGHT_HTTP_ANALYZERS: " mx-mesh , k8s-mesh " })
      assert.deepStrictEqual([c.grpcHost, c.grpcPort], ["::1", 9000])
      assert.deepStrictEqual(c.httpAnalyzers, ["mx-mesh", "k8s-mesh"])
    }))

  it.effect("error logs: persistence in the analyzer lists (SkyWalking's name), rate, caps, PostgreSQL", () =>
    Effect.gen(function*() {
      const defaults = yield* load({})
      assert.deepStrictEqual(
        [defaults.errorLogRatePerMinute, defaults.errorLogsPerService, defaults.errorLogsMax, defaults.logsPostgresUrl, defaults.logsRetentionHours],
        [6000, 1000, 10_000, "", 72]
      )
      const c = yield* load({
        SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS: "mx-mesh,k8s-mesh,persistence",
        MESHSIGHT_ERROR_LOG_RATE_PER_MINUTE: "60",
        MESHSIGHT_LOGS_POSTGRES_URL: "postgres://meshsight@db:5432/logs",
        MESHSIGHT_LOGS_RETENTION_HOURS: "24"
      })
      assert.deepStrictEqual(c.httpAnalyzers, ["mx-mesh", "k8s-mesh", "persistence"])
      assert.deepStrictEqual([c.errorLogRatePerMinute, c.logsPostgresUrl, c.logsRetentionHours], [60, "postgres://meshsight@db:5432/logs", 24])
      assert.match(yield* refusal({ MESHSIGHT_LOGS_POSTGRES_URL: "mysql://db/logs" }), /^invalid MESHSIGHT_LOGS_POSTGRES_URL=.*not a PostgreSQL URL/)
      assert.match(yield* refusal({ MESHSIGHT_ERROR_LOG_RATE_PER_MINUTE: "0" }), /^invalid MESHSIGHT_ERROR_LOG_RATE_PER_MINUTE=/)
    }))

  it.effect("per-service apdex thresholds", () =>
    Effect.gen(function*() {
      const c = yield* load({ MESHSIGHT_APDEX_THRESHOLDS: "reviews.default=200, ratings.default=50" })
      assert.deepStrictEqual(c.apdexThresholdsMs, { "reviews.default": 200, "ratings.default": 50 })
    }))

  it.effect("an invalid value is refused in one line naming the variable, the value and what is expected", () =>
    Effect.gen(function*() {
      assert.strictEqual(
        yield* refusal({ MESHSIGHT_HTTP_PORT: "http" }),
        'invalid MESHSIGHT_HTTP_PORT="http": expected a port number (0-65535)'
      )
      assert.strictEqual(
        yield* refusal({ SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS: "mx-mesh,k8s" }),
        'invalid SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS="mx-mesh,k8s": expected a comma-separated list of analyzers from: mx-mesh, k8s-mesh, persistence'
      )
      assert.match(yield* refusal({ MESHSIGHT_TCP_ANALYZERS: " , " }), /^invalid MESHSIGHT_TCP_ANALYZERS=" , ": expected a comma-separated list/)
      assert.match(yield* refusal({ MESHSIGHT_GRPC_ADDRESS: "localhost:70000" }), /^invalid MESHSIGHT_GRPC_ADDRESS=/)
      assert.match(yield* refusal({ MESHSIGHT_APDEX_THRESHOLDS: "reviews=fast" }), /^invalid MESHSIGHT_APDEX_THRESHOLDS=/)
      assert.match(yield* refusal({ MESHSIGHT_LOG_LEVEL: "verbose" }), /one of Trace, Debug, Info, Warn, Error$/)
      // A template is compiled at start-up, so a typo stops it then rather than naming every service wrong.
      assert.match(yield* refusal({ MESHSIGHT_MX_SERVICE_NAME_RULE: "${LABELS.app" }), /^invalid MESHSIGHT_MX_SERVICE_NAME_RULE=.*expected a name template \(/)
    }))
})

describe("start-up, as a process", () => {
  it("an unknown analyzer stops start-up with exit 1 and one line listing the valid ones", async () => {
    const { code, output } = await runMeshsightToExit({ MESHSIGHT_HTTP_ANALYZERS: "mx-mesh,istio" })
    assert.strictEqual(code, 1)
    assert.strictEqual(
      output.trim(),
      'meshsight: invalid MESHSIGHT_HTTP_ANALYZERS="mx-mesh,istio": expected a comma-separated list of analyzers from: mx-mesh, k8s-mesh, persistence'
    )
  })

  it("a port already in use stops start-up with one line naming the address", async () => {
    const running = await spawnMeshsight()
    try {
      const { code, output } = await runMeshsightToExit({
        MESHSIGHT_GRPC_ADDRESS: `127.0.0.1:${running.grpcPort}`,
        MESHSIGHT_HTTP_PORT: "0"
      })
      assert.strictEqual(code, 1)
      // Around it is the log of what started and stopped (stdout, so in any order with stderr); the reason is one line.
      const reasons = output.split("\n").filter((line) => line.startsWith("meshsight:"))
      assert.strictEqual(reasons.length, 1, output)
      assert.match(reasons[0], new RegExp(`^meshsight: cannot listen for gRPC on 127\\.0\\.0\\.1:${running.grpcPort}: .+$`))
    } finally {
      await running.stop()
    }
  })

  it("the start-up log names the active analyzers and the listening ports", async () => {
    const running = await spawnMeshsight({ SW_ENVOY_METRIC_ALS_TCP_ANALYSIS: "mx-mesh" })
    try {
      const log = running.output()
      assert.include(log, "identity analyzers active: HTTP [mx-mesh], TCP [mx-mesh]")
      assert.include(log, `gRPC listening on 127.0.0.1:${running.grpcPort}`)
    } finally {
      assert.strictEqual(await running.stop(), 0)
    }
  })
})
