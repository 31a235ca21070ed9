// Settings from the environment: defaults, meshsight names, SkyWalking aliases, and one-line refusals.
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Config, ConfigProvider, Effect, Exit, Layer } from "effect"
import { loadConfig } from "../../src/config.ts"
import * as MemoryStore from "../../src/store/metric-store.ts"
import { DEFAULT_MX_SERVICE_NAME_RULE } from "../../src/identity/mx-mesh/mx-mesh-analyzer.ts"
import { runMeshsightToExit, spawnMeshsight } from "../../testkit/meshsight-process.ts"
import { MemoryBudgetLive } from "../../src/memory/budget.ts"

const load = (variables: Record<string, string>) =>
  loadConfig.pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(variables))))

const refusal = (env: Record<string, string>) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(load(env))
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
    expect(error).toBeInstanceOf(Config.ConfigError)
    // The line is the cause's (a SourceError), which main.ts prints.
    const cause = (error as Config.ConfigError).cause
    expect(cause).toBeInstanceOf(ConfigProvider.SourceError)
    return cause.message
  })

describe("configuration", () => {
  it.effect("embedded defaults: gRPC 0.0.0.0:11800, HTTP 12800, mx-mesh for HTTP and TCP", () =>
    Effect.gen(function* () {
      const c = yield* load({})
      expect([c.grpcHost, c.grpcPort, c.alsGrpcPort, c.httpHost, c.httpPort]).toStrictEqual(["0.0.0.0", 11800, 0, "0.0.0.0", 12800])
      expect([c.httpAnalyzers, c.tcpAnalyzers]).toStrictEqual([["mx-mesh"], ["mx-mesh"]])
      expect(c.grpcMaxMessageBytes).toBe(16 * 1024 * 1024)
      expect(c.mxServiceNameRule).toBe(DEFAULT_MX_SERVICE_NAME_RULE)
      expect([c.retentionMinutes, c.flushIntervalMs, c.apdexThresholdMs]).toStrictEqual([120, 1000, 500])
    })
  )

  it.effect("SkyWalking's variable names are accepted as aliases", () =>
    Effect.gen(function* () {
      const c = yield* load({
        SW_RECEIVER_GRPC_PORT: "11900",
        SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS: "k8s-mesh,mx-mesh",
        SW_ENVOY_METRIC_ALS_TCP_ANALYSIS: "k8s-mesh",
        SW_ALS_GRPC_MAX_MESSAGE_SIZE: "4194304",
        SW_ALS_GRPC_PORT: "11801"
      })
      expect([c.grpcHost, c.grpcPort, c.alsGrpcPort]).toStrictEqual(["0.0.0.0", 11900, 11801])
      expect(c.httpAnalyzers).toStrictEqual(["k8s-mesh", "mx-mesh"])
      expect(c.tcpAnalyzers).toStrictEqual(["k8s-mesh"])
      expect(c.grpcMaxMessageBytes).toBe(4194304)
    })
  )

  it.effect("meshsight's own name wins over an alias; addresses take host:port and [v6]:port", () =>
    Effect.gen(function* () {
      const c = yield* load({
        MESHSIGHT_GRPC_ADDRESS: "[::1]:9000",
        SW_CORE_GRPC_PORT: "1234",
        MESHSIGHT_HTTP_ANALYZERS: " mx-mesh , k8s-mesh "
      })
      expect([c.grpcHost, c.grpcPort]).toStrictEqual(["::1", 9000])
      expect(c.httpAnalyzers).toStrictEqual(["mx-mesh", "k8s-mesh"])
    })
  )

  it.effect("error logs: persistence in the analyzer lists (SkyWalking's name), rate, caps, PostgreSQL", () =>
    Effect.gen(function* () {
      const defaults = yield* load({})
      expect([
        defaults.errorLogRatePerMinute,
        defaults.errorLogsPerService,
        defaults.errorLogsMax,
        defaults.logsPostgresUrl,
        defaults.logsRetentionHours
      ]).toStrictEqual([6000, 1000, 10_000, "", 72])
      const c = yield* load({
        SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS: "mx-mesh,k8s-mesh,persistence",
        MESHSIGHT_ERROR_LOG_RATE_PER_MINUTE: "60",
        MESHSIGHT_LOGS_POSTGRES_URL: "postgres://meshsight@db:5432/logs",
        MESHSIGHT_LOGS_RETENTION_HOURS: "24"
      })
      expect(c.httpAnalyzers).toStrictEqual(["mx-mesh", "k8s-mesh"])
      expect([c.errorLogRatePerMinute, c.logsPostgresUrl, c.logsRetentionHours]).toStrictEqual([
        60,
        "postgres://meshsight@db:5432/logs",
        24
      ])
      expect(yield* refusal({ MESHSIGHT_LOGS_POSTGRES_URL: "mysql://db/logs" })).toMatch(
        /^invalid MESHSIGHT_LOGS_POSTGRES_URL=.*not a PostgreSQL URL/
      )
      expect(yield* refusal({ MESHSIGHT_ERROR_LOG_RATE_PER_MINUTE: "0" })).toMatch(/^invalid MESHSIGHT_ERROR_LOG_RATE_PER_MINUTE=/)
    })
  )

  it.effect("per-service apdex thresholds", () =>
    Effect.gen(function* () {
      const c = yield* load({ MESHSIGHT_APDEX_THRESHOLDS: "reviews.default=200, ratings.default=50" })
      expect(c.apdexThresholdsMs).toStrictEqual({ "reviews.default": 200, "ratings.default": 50 })
    })
  )

  it.effect("an invalid value is refused in one line naming the variable, the value and what is expected", () =>
    Effect.gen(function* () {
      expect(yield* refusal({ MESHSIGHT_HTTP_PORT: "http" })).toBe('invalid MESHSIGHT_HTTP_PORT="http": expected a port number (0-65535)')
      expect(yield* refusal({ SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS: "mx-mesh,k8s" })).toBe(
        'invalid SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS="mx-mesh,k8s": expected a comma-separated list of analyzers from: mx-mesh, k8s-mesh, persistence'
      )
      expect(yield* refusal({ MESHSIGHT_TCP_ANALYZERS: " , " })).toMatch(
        /^invalid MESHSIGHT_TCP_ANALYZERS=" , ": expected a comma-separated list/
      )
      expect(yield* refusal({ MESHSIGHT_GRPC_ADDRESS: "localhost:70000" })).toMatch(/^invalid MESHSIGHT_GRPC_ADDRESS=/)
      expect(yield* refusal({ MESHSIGHT_APDEX_THRESHOLDS: "reviews=fast" })).toMatch(/^invalid MESHSIGHT_APDEX_THRESHOLDS=/)
      expect(yield* refusal({ MESHSIGHT_LOG_LEVEL: "verbose" })).toMatch(/one of Trace, Debug, Info, Warn, Error \(any case\)$/)
      // A template is compiled at start-up, so a typo stops it then rather than naming every service wrong.
      expect(yield* refusal({ MESHSIGHT_MX_SERVICE_NAME_RULE: "${LABELS.app" })).toMatch(
        /^invalid MESHSIGHT_MX_SERVICE_NAME_RULE=.*expected a name template \(/
      )
    })
  )

  it.effect("an invalid value is never replaced by an alias's value or the default", () =>
    Effect.gen(function* () {
      expect(yield* refusal({ MESHSIGHT_GRPC_ADDRESS: "localhost:x", SW_RECEIVER_GRPC_PORT: "11900" })).toMatch(
        /^invalid MESHSIGHT_GRPC_ADDRESS="localhost:x"/
      )
      expect(yield* refusal({ SW_RECEIVER_GRPC_PORT: "eleven", SW_CORE_GRPC_PORT: "11900" })).toMatch(
        /^invalid SW_RECEIVER_GRPC_PORT="eleven"/
      )
      // An empty value counts as unset, as SkyWalking's empty defaults do: the next name decides.
      expect((yield* load({ MESHSIGHT_GRPC_ADDRESS: "", SW_CORE_GRPC_PORT: "11900" })).grpcPort).toBe(11900)
    })
  )
})

describe("SkyWalking settings carried over", () => {
  it.effect("persistence in the analyzer lists keeps error logs; the identity chain runs the others", () =>
    Effect.gen(function* () {
      const c = yield* load({
        SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS: "mx-mesh,k8s-mesh,persistence",
        SW_ENVOY_METRIC_ALS_TCP_ANALYSIS: "mx-mesh"
      })
      // The start-up read lists the identity analyzers; src/error-logs/ reads `persistence` from the lists itself.
      expect([c.httpAnalyzers, c.tcpAnalyzers]).toStrictEqual([["mx-mesh", "k8s-mesh"], ["mx-mesh"]])
      expect(c.warnings).toStrictEqual([])
      // Alone it would name no side: nothing would be recorded.
      expect(yield* refusal({ SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS: "persistence" })).toMatch(/\(at least one of mx-mesh, k8s-mesh\)$/)
    })
  )

  it.effect("every SW_* variable meshsight does not implement is named in one warning; its aliases are not", () =>
    Effect.gen(function* () {
      const c = yield* load({
        SW_STORAGE: "banyandb",
        SW_STORAGE_BANYANDB_TARGETS: "banyandb:17912",
        SW_CORE_GRPC_PORT: "11800",
        SW_CORE_MAX_HTTP_URIS_NUMBER_PER_SVR: "500",
        SW_RECEIVER_GRPC_PORT: "11800",
        SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS: "mx-mesh",
        SW_TELEMETRY: "prometheus",
        MESHSIGHT_LOG_LEVEL: "Info",
        HOME: "/root"
      })
      expect(c.warnings).toStrictEqual([
        "SkyWalking settings meshsight does not implement, ignored: SW_STORAGE, SW_STORAGE_BANYANDB_TARGETS, SW_TELEMETRY"
      ])
      expect(c.maxEndpointsPerService).toBe(500)
      expect((yield* load({})).warnings).toStrictEqual([])
    })
  )

  it.effect("log levels in any case; SkyWalking has no log level variable (log4j2.xml) to alias", () =>
    Effect.gen(function* () {
      for (const [value, level] of [
        ["info", "Info"],
        ["INFO", "Info"],
        ["Info", "Info"],
        [" debug ", "Debug"],
        ["WARN", "Warn"]
      ]) {
        expect((yield* load({ MESHSIGHT_LOG_LEVEL: value })).logLevel).toBe(level)
      }
    })
  )

  it.effect("endpoint grouping file and per-service endpoint cap: defaults and refusals", () =>
    Effect.gen(function* () {
      const c = yield* load({})
      expect([c.endpointGroupingFile, c.maxEndpointsPerService]).toStrictEqual([undefined, 3000])
      expect((yield* load({ MESHSIGHT_ENDPOINT_GROUPING_FILE: "/etc/meshsight/grouping.yml" })).endpointGroupingFile).toBe(
        "/etc/meshsight/grouping.yml"
      )
      expect(yield* refusal({ MESHSIGHT_MAX_ENDPOINTS_PER_SERVICE: "0" })).toBe(
        'invalid MESHSIGHT_MAX_ENDPOINTS_PER_SERVICE="0": expected a positive whole number'
      )
    })
  )
})

describe("connection age", () => {
  it.effect("30 minutes and a 30 s grace by default; 0 turns the age off; a negative or over-long age is refused", () =>
    Effect.gen(function* () {
      const c = yield* load({})
      expect([c.grpcMaxConnectionAgeMs, c.grpcMaxConnectionAgeGraceMs]).toStrictEqual([1_800_000, 30_000])
      const off = yield* load({ MESHSIGHT_GRPC_MAX_CONNECTION_AGE_MS: "0", MESHSIGHT_GRPC_MAX_CONNECTION_AGE_GRACE_MS: "0" })
      expect([off.grpcMaxConnectionAgeMs, off.grpcMaxConnectionAgeGraceMs]).toStrictEqual([0, 0])
      expect(yield* refusal({ MESHSIGHT_GRPC_MAX_CONNECTION_AGE_MS: "-1" })).toMatch(/^invalid MESHSIGHT_GRPC_MAX_CONNECTION_AGE_MS="-1"/)
      expect(yield* refusal({ MESHSIGHT_GRPC_MAX_CONNECTION_AGE_GRACE_MS: "604800001" })).toMatch(
        /^invalid MESHSIGHT_GRPC_MAX_CONNECTION_AGE_GRACE_MS="604800001": expected milliseconds from 0 to 604800000/
      )
    })
  )
})

describe("security settings", () => {
  it.effect("off by default: no TLS, no tokens, any Host, 100 streams per connection and 10000 in all", () =>
    Effect.gen(function* () {
      const c = yield* load({})
      expect([c.grpcTlsCertFile, c.grpcTlsKeyFile, c.grpcTlsClientCaFile, c.httpTlsCertFile, c.apiTokenFile, c.alsTokenFile]).toStrictEqual(
        ["", "", "", "", "", ""]
      )
      expect([c.httpAllowedHosts, c.grpcMaxStreamsPerConnection, c.grpcMaxStreams, c.fileReloadIntervalMs]).toStrictEqual([
        [],
        100,
        10_000,
        10_000
      ])
    })
  )

  it.effect("SkyWalking's gRPC SSL paths are aliases (receiver-sharing-server first, then core); an empty one counts as unset", () =>
    Effect.gen(function* () {
      const receiver = yield* load({
        SW_RECEIVER_GRPC_SSL_CERT_CHAIN_PATH: "/tls/receiver.crt",
        SW_RECEIVER_GRPC_SSL_KEY_PATH: "/tls/receiver.key",
        SW_RECEIVER_GRPC_SSL_TRUSTED_CAS_PATH: "/tls/ca.crt",
        SW_CORE_GRPC_SSL_CERT_CHAIN_PATH: "/tls/core.crt",
        SW_CORE_GRPC_SSL_KEY_PATH: "/tls/core.key"
      })
      expect([receiver.grpcTlsCertFile, receiver.grpcTlsKeyFile, receiver.grpcTlsClientCaFile]).toStrictEqual([
        "/tls/receiver.crt",
        "/tls/receiver.key",
        "/tls/ca.crt"
      ])
      const core = yield* load({
        SW_CORE_GRPC_SSL_CERT_CHAIN_PATH: "/tls/core.crt",
        SW_CORE_GRPC_SSL_KEY_PATH: "/tls/core.key",
        SW_RECEIVER_GRPC_SSL_KEY_PATH: ""
      })
      expect([core.grpcTlsCertFile, core.grpcTlsKeyFile, core.grpcTlsClientCaFile]).toStrictEqual(["/tls/core.crt", "/tls/core.key", ""])
    })
  )

  it.effect("allowed hosts are a lower-cased list; half a TLS pair, or a client CA without TLS, is refused in one line", () =>
    Effect.gen(function* () {
      expect((yield* load({ MESHSIGHT_HTTP_ALLOWED_HOSTS: " Meshsight.example, localhost ," })).httpAllowedHosts).toStrictEqual([
        "meshsight.example",
        "localhost"
      ])
      expect(yield* refusal({ MESHSIGHT_GRPC_TLS_CERT_FILE: "/tls/tls.crt" })).toBe(
        'invalid MESHSIGHT_GRPC_TLS_CERT_FILE="/tls/tls.crt": expected MESHSIGHT_GRPC_TLS_KEY_FILE too: the gRPC TLS certificate and key are set together'
      )
      expect(yield* refusal({ MESHSIGHT_HTTP_TLS_KEY_FILE: "/tls/tls.key" })).toMatch(
        /^invalid MESHSIGHT_HTTP_TLS_KEY_FILE=.*expected MESHSIGHT_HTTP_TLS_CERT_FILE too/
      )
      expect(yield* refusal({ MESHSIGHT_GRPC_TLS_CLIENT_CA_FILE: "/tls/ca.crt" })).toMatch(
        /client certificates need the gRPC port to serve TLS/
      )
      expect(yield* refusal({ MESHSIGHT_GRPC_MAX_STREAMS: "0" })).toMatch(/^invalid MESHSIGHT_GRPC_MAX_STREAMS="0"/)
    })
  )
})

describe("start-up, as a process", () => {
  it("an unknown analyzer stops start-up with exit 1 and one line listing the valid ones", async () => {
    const { code, output } = await runMeshsightToExit({ MESHSIGHT_HTTP_ANALYZERS: "mx-mesh,istio" })
    expect(code).toBe(1)
    expect(output.trim()).toBe(
      'meshsight: invalid MESHSIGHT_HTTP_ANALYZERS="mx-mesh,istio": expected a comma-separated list of analyzers from: mx-mesh, k8s-mesh, persistence'
    )
  })

  it("a bad endpoint grouping file stops start-up with exit 1 and one line naming the file, the line and the reason", async () => {
    const dir = mkdtempSync(join(tmpdir(), "meshsight-grouping-"))
    const file = (name: string, text: string) => {
      const path = join(dir, name)
      writeFileSync(path, text)
      return path
    }
    const cases: ReadonlyArray<readonly [string, RegExp]> = [
      [join(dir, "missing.yml"), /^meshsight: invalid endpoint grouping file .*missing\.yml: cannot be read: ENOENT/],
      [
        file("yaml.yml", "grouping:\n  - service-name: a\n    rules: [/x/{id}\n"),
        /^meshsight: invalid endpoint grouping file .*yaml\.yml, line \d: not valid YAML: .+$/
      ],
      [
        file("regex.yml", "grouping:\n  - service-name: a\n    rules:\n      - endpoint-name: /x/{id}\n        regex: /x/(\\d+\n"),
        /^meshsight: invalid endpoint grouping file .*regex\.yml, line 5: regex ".+" does not compile: .+$/
      ],
      [
        file("shape.yml", "grouping:\n  service-name: a\n"),
        /^meshsight: invalid endpoint grouping file .*shape\.yml, line 2: grouping must be a list/
      ]
    ]
    try {
      const runs = await Promise.all(
        cases.map(([path]) =>
          runMeshsightToExit({ MESHSIGHT_ENDPOINT_GROUPING_FILE: path, MESHSIGHT_HTTP_PORT: "0", MESHSIGHT_GRPC_ADDRESS: "127.0.0.1:0" })
        )
      )
      runs.forEach(({ code, output }, i) => {
        expect(code, output).toBe(1)
        const reasons = output.split("\n").filter((line) => line.startsWith("meshsight:"))
        expect(reasons.length, output).toBe(1)
        expect(reasons[0]).toMatch(cases[i][1])
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("SkyWalking settings it accepts but does not act on are named in the start-up log, one warning line", async () => {
    const running = await spawnMeshsight({
      SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS: "mx-mesh,persistence",
      SW_ENVOY_METRIC_ALS_TCP_ANALYSIS: "mx-mesh,persistence",
      SW_STORAGE: "h2",
      SW_TELEMETRY: "none",
      MESHSIGHT_LOG_LEVEL: "info"
    })
    try {
      const lines = running.output().split("\n")
      const unimplemented = lines.filter((l) => l.includes("SkyWalking settings meshsight does not implement"))
      expect(unimplemented.length, running.output()).toBe(1)
      expect(unimplemented[0]).toMatch(/WARN.*ignored: (.*, )?SW_STORAGE, (.*, )?SW_TELEMETRY/)
      expect(unimplemented[0]).not.toContain("SW_ENVOY_METRIC_ALS")
      expect(running.output()).toContain("identity analyzers active: HTTP [mx-mesh], TCP [mx-mesh]")
    } finally {
      expect(await running.stop()).toBe(0)
    }
  })

  it("a port already in use stops start-up with one line naming the address", async () => {
    const running = await spawnMeshsight()
    try {
      const { code, output } = await runMeshsightToExit({
        MESHSIGHT_GRPC_ADDRESS: `127.0.0.1:${running.grpcPort}`,
        MESHSIGHT_HTTP_PORT: "0"
      })
      expect(code).toBe(1)
      // Around it is the log of what started and stopped (stdout, so in any order with stderr); the reason is one line.
      const reasons = output.split("\n").filter((line) => line.startsWith("meshsight:"))
      expect(reasons.length, output).toBe(1)
      expect(reasons[0]).toBe(`meshsight: cannot listen on gRPC 127.0.0.1:${running.grpcPort}: address already in use`)
    } finally {
      await running.stop()
    }
  })

  it("an HTTP port already in use stops start-up with one line naming the address and the reason", async () => {
    const running = await spawnMeshsight()
    try {
      const { code, output } = await runMeshsightToExit({
        MESHSIGHT_GRPC_ADDRESS: "127.0.0.1:0",
        MESHSIGHT_HTTP_HOST: "127.0.0.1",
        MESHSIGHT_HTTP_PORT: String(running.httpPort)
      })
      expect(code).toBe(1)
      const reasons = output.split("\n").filter((line) => line.startsWith("meshsight:"))
      expect(reasons, output).toStrictEqual([`meshsight: cannot listen on HTTP 127.0.0.1:${running.httpPort}: address already in use`])
    } finally {
      await running.stop()
    }
  })

  it("a certificate file that cannot be read stops start-up with one line", async () => {
    const { code, output } = await runMeshsightToExit({
      MESHSIGHT_GRPC_ADDRESS: "127.0.0.1:0",
      MESHSIGHT_HTTP_PORT: "0",
      MESHSIGHT_HTTP_TLS_CERT_FILE: "/nonexistent/tls.crt",
      MESHSIGHT_HTTP_TLS_KEY_FILE: "/nonexistent/tls.key"
    })
    expect(code).toBe(1)
    const reasons = output.split("\n").filter((line) => line.startsWith("meshsight:"))
    expect(reasons.length, output).toBe(1)
    expect(reasons[0]!).toMatch(/^meshsight: cannot use MESHSIGHT_HTTP_TLS_CERT_FILE=\/nonexistent\/tls\.crt: ENOENT/)
  })

  it("the start-up log names the active analyzers and the listening ports", async () => {
    const running = await spawnMeshsight({ SW_ENVOY_METRIC_ALS_TCP_ANALYSIS: "mx-mesh" })
    try {
      const log = running.output()
      expect(log).toContain("identity analyzers active: HTTP [mx-mesh], TCP [mx-mesh]")
      expect(log).toContain(`gRPC listening on 127.0.0.1:${running.grpcPort}`)
      expect(log).toContain(`HTTP listening on http://127.0.0.1:${running.httpPort}`)
    } finally {
      expect(await running.stop()).toBe(0)
    }
  })
})

describe("a stage reads its own settings", () => {
  const provided = (variables: Record<string, string>) => Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(variables)))

  it.effect("the store's layerConfig takes its retention from the ConfigProvider, and refuses a bad one in one line", () =>
    Effect.gen(function* () {
      const store = yield* MemoryStore.MetricStore.pipe(
        Effect.provide(MemoryStore.layerConfig.pipe(Layer.provide(MemoryBudgetLive))),
        provided({ MESHSIGHT_RETENTION_MINUTES: "3" })
      )
      expect(store.retentionStart(10 * 60_000)).toBe(8 * 60_000)
      const error = yield* Effect.flip(
        MemoryStore.MetricStore.pipe(
          Effect.provide(MemoryStore.layerConfig.pipe(Layer.provide(MemoryBudgetLive))),
          provided({ MESHSIGHT_RETENTION_MINUTES: "0" })
        )
      )
      expect(error.cause.message).toBe('invalid MESHSIGHT_RETENTION_MINUTES="0": expected whole minutes from 1 to 10080')
    })
  )
})
