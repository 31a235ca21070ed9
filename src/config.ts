// meshsight's settings as start-up reads them. Each stage declares the settings it reads beside its Layer (built
// with src/util/setting.ts: an Effect `Config` per setting, Schema-checked, meshsight's name first and SkyWalking's
// aliases after) and reads them itself; this module lists them all, reads the whole set once with `Config.all` so
// that any invalid value stops start-up before a stage is built, checks the settings that only make sense
// together, and names the SkyWalking settings meshsight accepts without acting on them.
import { Config, ConfigProvider, Effect, Layer, Schema, SchemaGetter } from "effect"
import { apdexThresholdMs, apdexThresholdsMs, flushIntervalMs, maxEndpointsPerService } from "./aggregation/aggregator.ts"
import { endpointGroupingFile } from "./analysis/endpoint-names.ts"
import { apiTokenFile, httpAllowedHosts } from "./http/guard.ts"
import { httpHost, httpPort } from "./http/http-server.ts"
import { httpAnalyzers, type ListedAnalyzer, LOG_ANALYZERS, tcpAnalyzers } from "./identity/chain.ts"
import { istioServiceNameRule, k8sInstanceNameRule, k8sServiceNameRule } from "./identity/k8s-mesh/k8s-mesh.ts"
import { mxInstanceNameRule, mxServiceNameRule } from "./identity/mx-mesh/mx-mesh-analyzer.ts"
import {
  acceptMetricsService,
  alsGrpcHost,
  alsGrpcPort,
  alsTokenFile,
  grpcAddress,
  grpcHostOf,
  grpcMaxConnectionAgeGraceMs,
  grpcMaxConnectionAgeMs,
  grpcMaxMessageBytes,
  grpcMaxStreams,
  grpcMaxStreamsPerConnection
} from "./ingest/grpc-settings.ts"
import { proxyMaxClusterPairs, proxyMaxInstances } from "./proxy-metrics/proxy-metric-store.ts"
import { grpcTlsCertFile, grpcTlsClientCaFile, grpcTlsKeyFile, httpTlsCertFile, httpTlsKeyFile, TLS_PAIRS } from "./security/tls.ts"
import { fileReloadIntervalMs } from "./security/watched-files.ts"
import { maxSeriesPerMinute, retentionMinutes } from "./store/metric-store.ts"
import { errorLogRatePerMinute, errorLogsMax, errorLogsPerService, logsPostgresUrl, logsRetentionHours } from "./error-logs/settings.ts"
import * as exportSettings from "./export/settings.ts"
import { allocator, memoryLimitMb } from "./memory/budget.ts"
import { idleGcAfterMs } from "./memory/idle-collection.ts"
import { storageMode } from "./store/storage-mode.ts"
import {
  prometheusBearerToken,
  prometheusHeaders,
  prometheusPassword,
  prometheusTimeoutMs,
  prometheusUrl,
  prometheusUsername
} from "./query/prometheus-settings.ts"
import { minuteGraceMs, minuteWriteCheckMs } from "./export/minute-writer.ts"
import { workers } from "./workers/settings.ts"
import { invalid, type Setting, setting, type SettingValues, settingsConfig } from "./util/setting.ts"

export const LOG_LEVELS = ["Trace", "Debug", "Info", "Warn", "Error"] as const

/** Log levels in any case (`info`, `INFO`): Effect's names are capitalised. */
const logLevelSchema = Schema.Trim.pipe(
  Schema.decodeTo(Schema.Literals(LOG_LEVELS), {
    decode: SchemaGetter.transform((s: string) => (s.charAt(0).toUpperCase() + s.slice(1).toLowerCase()) as (typeof LOG_LEVELS)[number]),
    encode: SchemaGetter.transform((s: string) => s)
  })
)

// SkyWalking sets its log level in log4j2.xml, not in the environment: no alias.
const logLevel = setting({
  names: ["MESHSIGHT_LOG_LEVEL"],
  schema: logLevelSchema,
  expected: "one of Trace, Debug, Info, Warn, Error (any case)",
  default: "Info" as (typeof LOG_LEVELS)[number]
})
const logFormat = setting({
  names: ["MESHSIGHT_LOG_FORMAT"],
  schema: Schema.Literals(["json", "pretty"]),
  expected: "json or pretty",
  default: "pretty" as "json" | "pretty"
})

/** Every setting, by the name the whole read gives it. */
const SETTINGS = {
  grpcAddress,
  alsGrpcHost,
  alsGrpcPort,
  grpcMaxMessageBytes,
  acceptMetricsService,
  grpcMaxStreamsPerConnection,
  grpcMaxStreams,
  grpcMaxConnectionAgeMs,
  grpcMaxConnectionAgeGraceMs,
  alsTokenFile,
  httpHost,
  httpPort,
  httpAllowedHosts,
  apiTokenFile,
  httpAnalyzers,
  tcpAnalyzers,
  mxServiceNameRule,
  mxInstanceNameRule,
  k8sServiceNameRule,
  k8sInstanceNameRule,
  istioServiceNameRule,
  endpointGroupingFile,
  retentionMinutes,
  maxSeriesPerMinute,
  flushIntervalMs,
  apdexThresholdMs,
  apdexThresholdsMs,
  maxEndpointsPerService,
  proxyMaxInstances,
  proxyMaxClusterPairs,
  grpcTlsCertFile,
  grpcTlsKeyFile,
  grpcTlsClientCaFile,
  httpTlsCertFile,
  httpTlsKeyFile,
  fileReloadIntervalMs,
  memoryLimitMb,
  allocator,
  idleGcAfterMs,
  workers,
  errorLogRatePerMinute,
  errorLogsPerService,
  errorLogsMax,
  logsPostgresUrl,
  logsRetentionHours,
  meshMetricsEnabled: exportSettings.meshMetricsEnabled,
  meshMetricsIdleMinutes: exportSettings.meshMetricsIdleMinutes,
  meshMetricsMaxSeries: exportSettings.meshMetricsMaxSeries,
  remoteWriteUrls: exportSettings.remoteWriteUrls,
  remoteWriteIntervalMs: exportSettings.remoteWriteIntervalMs,
  remoteWriteTimeoutMs: exportSettings.remoteWriteTimeoutMs,
  remoteWriteQueueSamples: exportSettings.remoteWriteQueueSamples,
  remoteWriteUsername: exportSettings.remoteWriteUsername,
  remoteWritePassword: exportSettings.remoteWritePassword,
  remoteWriteBearerToken: exportSettings.remoteWriteBearerToken,
  remoteWriteHeaders: exportSettings.remoteWriteHeaders,
  replica: exportSettings.replica,
  storageMode,
  prometheusUrl,
  prometheusTimeoutMs,
  prometheusBearerToken,
  prometheusUsername,
  prometheusPassword,
  prometheusHeaders,
  minuteGraceMs,
  minuteWriteCheckMs,
  logLevel,
  logFormat
}

/** The whole read: every setting, the bare gRPC port's host filled in, the analyzers that run, the warnings. */
export type AppConfigShape = Omit<
  SettingValues<typeof SETTINGS>,
  "grpcAddress" | "httpAnalyzers" | "tcpAnalyzers" | "endpointGroupingFile"
> & {
  readonly grpcHost: string
  readonly grpcPort: number
  readonly httpAnalyzers: ReadonlyArray<string>
  readonly tcpAnalyzers: ReadonlyArray<string>
  /** undefined: no grouping. */
  readonly endpointGroupingFile: string | undefined
  /** Settings accepted but not acted on, each a line for the start-up log. */
  readonly warnings: ReadonlyArray<string>
}

/** Every variable name some setting reads. */
export const VARIABLE_NAMES: ReadonlySet<string> = new Set(Object.values(SETTINGS).flatMap((s) => s.names))

/**
 * Names of the `SW_*` variables set. The environment provider splits names at `_` (`SW_STORAGE` is under `SW`,
 * `STORAGE`); a provider made from a plain object keeps them whole.
 */
const variablesUnder = (provider: ConfigProvider.ConfigProvider, path: ReadonlyArray<string> = []): Effect.Effect<Array<string>> =>
  Effect.gen(function* () {
    const node = yield* provider.load(path).pipe(Effect.orElseSucceed(() => undefined))
    if (node === undefined || node._tag === "Array") return []
    if (path.length === 0) {
      if (node._tag !== "Record") return []
      const names: Array<string> = []
      for (const key of node.keys) {
        if (key.startsWith("SW_")) names.push(key)
        else if (key === "SW") names.push(...(yield* variablesUnder(provider, ["SW"])))
      }
      return names
    }
    if (node._tag === "Value") return [path.join("_")]
    const names = node.value === undefined ? [] : [path.join("_")]
    for (const key of node.keys) names.push(...(yield* variablesUnder(provider, [...path, key])))
    return names
  })

/** Lines for the start-up log: the SkyWalking settings meshsight accepts without acting on them. */
const warningsFor = (unimplemented: ReadonlyArray<string>): Array<string> => {
  const warnings: Array<string> = []
  if (unimplemented.length > 0) {
    warnings.push(`SkyWalking settings meshsight does not implement, ignored: ${[...unimplemented].sort().join(", ")}`)
  }
  return warnings
}

/** Every setting, read with `Config.all`, then the settings that only make sense together (src/security/tls.ts). */
const settings = settingsConfig(SETTINGS).pipe(
  Config.flatMap((s) => {
    const valueOf = (wanted: Setting<string>) =>
      s[(Object.keys(SETTINGS) as Array<keyof typeof SETTINGS>).find((k) => SETTINGS[k] === wanted)!]
    for (const [set, partner, why] of TLS_PAIRS) {
      if (valueOf(set) !== "" && valueOf(partner) === "") {
        return invalid(set.names[0]!, String(valueOf(set)), `${partner.names[0]} too: ${why}`)
      }
    }
    // Storage mode prometheus reads from one URL and reaches the TSDB only by remote write.
    if (s.storageMode === "prometheus" && s.prometheusUrl === "") {
      return invalid("MESHSIGHT_STORAGE", s.storageMode, "MESHSIGHT_PROMETHEUS_URL too: the query API reads from it")
    }
    if (s.storageMode === "prometheus" && s.remoteWriteUrls.length === 0) {
      return invalid(
        "MESHSIGHT_STORAGE",
        s.storageMode,
        "MESHSIGHT_REMOTE_WRITE_URL too: each replica's minutes reach the TSDB by remote write"
      )
    }
    return Config.succeed(s)
  })
)

/** The whole configuration, read from the ConfigProvider in context, with the start-up warnings. */
export const loadConfig: Effect.Effect<AppConfigShape, Config.ConfigError> = Effect.gen(function* () {
  const { grpcAddress, httpAnalyzers, tcpAnalyzers, endpointGroupingFile, ...rest } = yield* settings
  const skyWalkingVariables = yield* variablesUnder(yield* ConfigProvider.ConfigProvider)
  // The identity analyzers: `persistence` keeps error logs after them (src/error-logs/ reads the lists itself).
  const runnable = (list: ReadonlyArray<ListedAnalyzer>) => list.filter((name) => !(LOG_ANALYZERS as ReadonlyArray<string>).includes(name))
  return {
    ...rest,
    grpcHost: grpcHostOf(grpcAddress),
    grpcPort: grpcAddress.port,
    httpAnalyzers: runnable(httpAnalyzers),
    tcpAnalyzers: runnable(tcpAnalyzers),
    endpointGroupingFile: endpointGroupingFile || undefined,
    warnings: warningsFor(skyWalkingVariables.filter((name) => !VARIABLE_NAMES.has(name)))
  }
})

/** Variables meshsight reads, by name. */
export type Variables = { readonly [name: `MESHSIGHT_${string}` | `SW_${string}` | `${"K8S" | "ISTIO"}_${string}`]: string }

/**
 * The settings from a plain object of variables, for tests and embedding: never the process environment. The
 * stages read them from this ConfigProvider; building the Layer checks the whole set first, as start-up does.
 */
export const layerFromVariables = (variables: Variables) =>
  Layer.effectDiscard(loadConfig).pipe(Layer.provideMerge(ConfigProvider.layer(ConfigProvider.fromUnknown(variables))))
