// meshsight's settings, read once at start-up: each an Effect `Config` validated with Schema, the whole read with
// `Config.all`. A setting has a meshsight name and, where SkyWalking has one, SkyWalking's name as an alias so
// existing deployments carry over. The first name that is set decides: an invalid value stops start-up with one
// line (a ConfigError whose cause, a ConfigProvider.SourceError, carries it) and is never replaced by an alias's
// value or the default.
import { Config, ConfigProvider, Context, Effect, Layer, Schema, SchemaGetter } from "effect"
import { istioServiceNameRule, k8sInstanceNameRule, k8sServiceNameRule } from "./identity/k8s-mesh/k8s-mesh.ts"
import { mxInstanceNameRule, mxServiceNameRule } from "./identity/mx-mesh/mx-mesh-analyzer.ts"
import { apdexThresholdMs, apdexThresholdsMs, flushIntervalMs, maxEndpointsPerService } from "./aggregation/aggregator.ts"
import { endpointGroupingFile } from "./analysis/endpoint-names.ts"
import { proxyMaxClusterPairs, proxyMaxInstances } from "./proxy-metrics/proxy-metric-store.ts"
import { maxSeriesPerMinute, retentionMinutes } from "./store/metric-store.ts"
import { Bool, Int, invalid, NonEmpty, setting, settingsConfig, Trimmed } from "./util/setting.ts"

export const KNOWN_ANALYZERS = ["mx-mesh", "k8s-mesh"] as const
/** SkyWalking's analyzers that meshsight accepts in the lists but does not run yet (one start-up warning). */
export const PENDING_ANALYZERS = ["persistence"] as const
const LISTED_ANALYZERS = [...KNOWN_ANALYZERS, ...PENDING_ANALYZERS] as const
type Analyzer = (typeof KNOWN_ANALYZERS)[number]
type ListedAnalyzer = (typeof LISTED_ANALYZERS)[number]

export const LOG_LEVELS = ["Trace", "Debug", "Info", "Warn", "Error"] as const

export interface AppConfigShape {
  readonly grpcHost: string
  readonly grpcPort: number
  /** A dedicated ALS listener; port 0 means ALS shares the main gRPC port. */
  readonly alsGrpcHost: string
  readonly alsGrpcPort: number
  readonly grpcMaxMessageBytes: number
  readonly httpHost: string
  readonly httpPort: number
  readonly httpAnalyzers: ReadonlyArray<string>
  readonly tcpAnalyzers: ReadonlyArray<string>
  readonly mxServiceNameRule: string
  readonly mxInstanceNameRule: string
  readonly k8sServiceNameRule: string
  readonly k8sInstanceNameRule: string
  readonly istioServiceNameRule: string
  readonly retentionMinutes: number
  readonly maxSeriesPerMinute: number
  readonly flushIntervalMs: number
  readonly apdexThresholdMs: number
  readonly apdexThresholdsMs: Readonly<Record<string, number>>
  readonly logLevel: (typeof LOG_LEVELS)[number]
  readonly logFormat: "json" | "pretty"
  /** Serve Envoy's MetricsService (v2, v3) beside ALS; false leaves it unregistered (UNIMPLEMENTED). */
  readonly acceptMetricsService: boolean
  /** Proxy instances whose MetricsService data is kept; further ones are refused (counted). */
  readonly proxyMaxInstances: number
  /** (instance, cluster_name) pairs kept over all proxies; further clusters are refused (counted). */
  readonly proxyMaxClusterPairs: number
  /** SkyWalking's endpoint-name-grouping.yml format (src/analysis/endpoint-rules.ts); undefined: no grouping. */
  readonly endpointGroupingFile: string | undefined
  /** Distinct ungrouped endpoints a service may have in a minute; calls to more count under `(other)`. */
  readonly maxEndpointsPerService: number
  /** Settings accepted but not acted on, each a line for the start-up log. */
  readonly warnings: ReadonlyArray<string>
  /** Security settings (src/security/): "" means not configured. */
  readonly grpcTlsCertFile: string
  readonly grpcTlsKeyFile: string
  readonly grpcTlsClientCaFile: string
  readonly httpTlsCertFile: string
  readonly httpTlsKeyFile: string
  readonly apiTokenFile: string
  readonly alsTokenFile: string
  /** How often certificate and token files are checked for changes. */
  readonly fileReloadIntervalMs: number
  /** Host header names the HTTP server answers for; empty: any. */
  readonly httpAllowedHosts: ReadonlyArray<string>
  readonly grpcMaxStreamsPerConnection: number
  readonly grpcMaxStreams: number
}

export class AppConfig extends Context.Service<AppConfig, AppConfigShape>()("meshsight/AppConfig") {}

const analyzerList = Schema.Trim.pipe(
  Schema.decodeTo(Schema.Array(Schema.Literals(LISTED_ANALYZERS)).check(Schema.isMinLength(1)), {
    // Typed as the literals here; the target schema checks each name right after.
    decode: SchemaGetter.transform((s: string) =>
      s.split(",").map((x) => x.trim()).filter((x) => x !== "") as Array<ListedAnalyzer>
    ),
    encode: SchemaGetter.transform((xs: ReadonlyArray<string>) => xs.join(","))
  })
)
/** Log levels in any case (`info`, `INFO`): Effect's names are capitalised. */
const logLevel = Schema.Trim.pipe(
  Schema.decodeTo(Schema.Literals(LOG_LEVELS), {
    decode: SchemaGetter.transform((s: string) =>
      (s.charAt(0).toUpperCase() + s.slice(1).toLowerCase()) as (typeof LOG_LEVELS)[number]
    ),
    encode: SchemaGetter.transform((s: string) => s)
  })
)
const isRunnable = (name: ListedAnalyzer): name is Analyzer => (KNOWN_ANALYZERS as ReadonlyArray<string>).includes(name)
const analyzers = (names: ReadonlyArray<string>) =>
  setting<ReadonlyArray<ListedAnalyzer>>({
    names,
    schema: analyzerList,
    expected: `a comma-separated list of analyzers from: ${KNOWN_ANALYZERS.join(", ")} (and ${PENDING_ANALYZERS.join(", ")}, not implemented yet)`,
    default: ["mx-mesh"],
    validate: (xs) => (xs.some(isRunnable) ? undefined : `at least one of ${KNOWN_ANALYZERS.join(", ")}`)
  })
/** A file path; empty (SkyWalking's default for its TLS paths) means unset. */
const filePath = (names: ReadonlyArray<string>) => setting({ names, schema: Trimmed, expected: "a file path", default: "" })
const hostList = Schema.Trim.pipe(
  Schema.decodeTo(Schema.Array(Schema.String), {
    decode: SchemaGetter.transform((s: string) => s.split(",").map((x) => x.trim().toLowerCase()).filter((x) => x !== "")),
    encode: SchemaGetter.transform((xs: ReadonlyArray<string>) => xs.join(","))
  })
)

/** `host:port`, `[v6]:port` or a bare port (SkyWalking's SW_*_GRPC_PORT) → host and port. */
const hostPort = Schema.Trim.pipe(
  Schema.decodeTo(Schema.Struct({ host: Schema.String, port: Int(0, 65535) }), {
    decode: SchemaGetter.transform((s: string) => {
      const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s)
      return m ? { host: m[1] ?? m[2] ?? "", port: m[3] } : { host: "", port: s }
    }),
    encode: SchemaGetter.transform((v: { readonly host: string; readonly port: string }) => `${v.host}:${v.port}`)
  })
)

const SETTINGS = {
  grpc: setting({
    names: ["MESHSIGHT_GRPC_ADDRESS", "SW_RECEIVER_GRPC_PORT", "SW_CORE_GRPC_PORT"],
    schema: hostPort,
    expected: "HOST:PORT or a port number (0-65535)",
    default: { host: "0.0.0.0", port: 11800 }
  }),
  alsGrpcHost: setting({
    names: ["MESHSIGHT_ALS_GRPC_HOST", "SW_ALS_GRPC_HOST"],
    schema: NonEmpty,
    expected: "a host name or address",
    default: "0.0.0.0"
  }),
  alsGrpcPort: setting({
    names: ["MESHSIGHT_ALS_GRPC_PORT", "SW_ALS_GRPC_PORT"],
    schema: Int(0, 65535),
    expected: "a port number (0-65535; 0 shares the main gRPC port)",
    default: 0
  }),
  grpcMaxMessageBytes: setting({
    names: ["MESHSIGHT_GRPC_MAX_MESSAGE_BYTES", "SW_ALS_GRPC_MAX_MESSAGE_SIZE"],
    schema: Int(1024, 1024 * 1024 * 1024),
    expected: "a size in bytes from 1024 to 1073741824",
    default: 16 * 1024 * 1024
  }),
  httpHost: setting({ names: ["MESHSIGHT_HTTP_HOST"], schema: NonEmpty, expected: "a host name or address", default: "0.0.0.0" }),
  httpPort: setting({ names: ["MESHSIGHT_HTTP_PORT"], schema: Int(0, 65535), expected: "a port number (0-65535)", default: 12800 }),
  httpAnalyzers: analyzers(["MESHSIGHT_HTTP_ANALYZERS", "SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS"]),
  tcpAnalyzers: analyzers(["MESHSIGHT_TCP_ANALYZERS", "SW_ENVOY_METRIC_ALS_TCP_ANALYSIS"]),
  mxServiceNameRule,
  mxInstanceNameRule,
  k8sServiceNameRule,
  k8sInstanceNameRule,
  istioServiceNameRule,
  retentionMinutes,
  maxSeriesPerMinute,
  flushIntervalMs,
  apdexThresholdMs,
  apdexThresholdsMs,
  // SkyWalking sets its log level in log4j2.xml, not in the environment: no alias.
  logLevel: setting({
    names: ["MESHSIGHT_LOG_LEVEL"],
    schema: logLevel,
    expected: "one of Trace, Debug, Info, Warn, Error (any case)",
    default: "Info" as const
  }),
  logFormat: setting({
    names: ["MESHSIGHT_LOG_FORMAT"],
    schema: Schema.Literals(["json", "pretty"]),
    expected: "json or pretty",
    default: "pretty" as const
  }),
  acceptMetricsService: setting({
    names: ["MESHSIGHT_ACCEPT_METRICS_SERVICE", "SW_ENVOY_METRIC_SERVICE"],
    schema: Bool,
    expected: "true or false",
    default: true
  }),
  proxyMaxInstances,
  proxyMaxClusterPairs,
  endpointGroupingFile,
  maxEndpointsPerService,
  // TLS: meshsight serves TLS when a certificate and key are set (SkyWalking's SW_*_SSL_ENABLED is not needed). Its
  // receiver-sharing-server's trusted-CAs path turns on client-certificate checks, as it does in SkyWalking.
  grpcTlsCertFile: filePath(["MESHSIGHT_GRPC_TLS_CERT_FILE", "SW_RECEIVER_GRPC_SSL_CERT_CHAIN_PATH", "SW_CORE_GRPC_SSL_CERT_CHAIN_PATH"]),
  grpcTlsKeyFile: filePath(["MESHSIGHT_GRPC_TLS_KEY_FILE", "SW_RECEIVER_GRPC_SSL_KEY_PATH", "SW_CORE_GRPC_SSL_KEY_PATH"]),
  grpcTlsClientCaFile: filePath(["MESHSIGHT_GRPC_TLS_CLIENT_CA_FILE", "SW_RECEIVER_GRPC_SSL_TRUSTED_CAS_PATH"]),
  httpTlsCertFile: filePath(["MESHSIGHT_HTTP_TLS_CERT_FILE"]),
  httpTlsKeyFile: filePath(["MESHSIGHT_HTTP_TLS_KEY_FILE"]),
  apiTokenFile: filePath(["MESHSIGHT_API_TOKEN_FILE"]),
  alsTokenFile: filePath(["MESHSIGHT_ALS_TOKEN_FILE"]),
  fileReloadIntervalMs: setting({
    names: ["MESHSIGHT_FILE_RELOAD_INTERVAL_MS"],
    schema: Int(50, 3_600_000),
    expected: "milliseconds from 50 to 3600000",
    default: 10_000
  }),
  httpAllowedHosts: setting({
    names: ["MESHSIGHT_HTTP_ALLOWED_HOSTS"],
    schema: hostList,
    expected: "a comma-separated list of host names",
    default: [] as ReadonlyArray<string>
  }),
  grpcMaxStreamsPerConnection: setting({
    names: ["MESHSIGHT_GRPC_MAX_STREAMS_PER_CONNECTION"],
    schema: Int(1, 1_000_000),
    expected: "a positive whole number",
    default: 100
  }),
  grpcMaxStreams: setting({
    names: ["MESHSIGHT_GRPC_MAX_STREAMS"],
    schema: Int(1, 10_000_000),
    expected: "a positive whole number",
    default: 10_000
  })
}

/** Every variable name some setting reads. */
const IMPLEMENTED = new Set(Object.values(SETTINGS).flatMap((s) => s.names))

/**
 * Names of the `SW_*` variables set. The environment provider splits names at `_` (`SW_STORAGE` is under `SW`,
 * `STORAGE`); a provider made from a plain object keeps them whole.
 */
const variablesUnder = (provider: ConfigProvider.ConfigProvider, path: ReadonlyArray<string> = []): Effect.Effect<Array<string>> =>
  Effect.gen(function*() {
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
const warningsFor = (
  unimplemented: ReadonlyArray<string>,
  lists: ReadonlyArray<ReadonlyArray<ListedAnalyzer>>
): Array<string> => {
  const warnings: Array<string> = []
  const pending = PENDING_ANALYZERS.filter((p) => lists.some((l) => l.includes(p)))
  if (pending.length > 0) {
    warnings.push(`analyzer ${pending.join(", ")} is not implemented yet: ignored (the other listed analyzers run)`)
  }
  if (unimplemented.length > 0) {
    warnings.push(`SkyWalking settings meshsight does not implement, ignored: ${[...unimplemented].sort().join(", ")}`)
  }
  return warnings
}

/** Settings that only make sense together: the first that is set without its partner. */
const PAIRS: ReadonlyArray<readonly [keyof typeof SETTINGS, keyof typeof SETTINGS, string]> = [
  ["grpcTlsCertFile", "grpcTlsKeyFile", "the gRPC TLS certificate and key are set together"],
  ["grpcTlsKeyFile", "grpcTlsCertFile", "the gRPC TLS certificate and key are set together"],
  ["grpcTlsClientCaFile", "grpcTlsCertFile", "client certificates need the gRPC port to serve TLS (MESHSIGHT_GRPC_TLS_CERT_FILE)"],
  ["httpTlsCertFile", "httpTlsKeyFile", "the HTTP TLS certificate and key are set together"],
  ["httpTlsKeyFile", "httpTlsCertFile", "the HTTP TLS certificate and key are set together"]
]

/** Every setting, read with `Config.all`, then the settings that only make sense together. */
const settings = settingsConfig(SETTINGS).pipe(
  Config.flatMap((s) => {
    for (const [set, partner, why] of PAIRS) {
      if (s[set] !== "" && s[partner] === "") {
        return invalid(SETTINGS[set].names[0]!, String(s[set]), `${SETTINGS[partner].names[0]} too: ${why}`)
      }
    }
    return Config.succeed(s)
  })
)

/** The settings with the start-up warnings (SkyWalking settings meshsight does not act on). */
export const loadConfig: Effect.Effect<AppConfigShape, Config.ConfigError> = Effect.gen(function*() {
  const { grpc, httpAnalyzers, tcpAnalyzers, endpointGroupingFile, ...rest } = yield* settings
  const skyWalkingVariables = yield* variablesUnder(yield* ConfigProvider.ConfigProvider)
  return {
    ...rest,
    grpcHost: grpc.host === "" ? "0.0.0.0" : grpc.host,
    grpcPort: grpc.port,
    httpAnalyzers: httpAnalyzers.filter(isRunnable),
    tcpAnalyzers: tcpAnalyzers.filter(isRunnable),
    endpointGroupingFile: endpointGroupingFile || undefined,
    warnings: warningsFor(skyWalkingVariables.filter((name) => !IMPLEMENTED.has(name)), [httpAnalyzers, tcpAnalyzers])
  }
})

/** The settings from the ConfigProvider in context (the environment, unless another is provided). */
export const layer = Layer.effect(AppConfig, loadConfig)

/** Variables meshsight reads, by name. */
export type Variables = { readonly [name: `MESHSIGHT_${string}` | `SW_${string}` | `${"K8S" | "ISTIO"}_${string}`]: string }

/**
 * The settings from a plain object of variables, for tests and embedding: never the process environment. Provides
 * AppConfig and the ConfigProvider itself, which the stages' `layerConfig`s read.
 */
export const layerFromVariables = (variables: Variables) =>
  layer.pipe(Layer.provideMerge(ConfigProvider.layer(ConfigProvider.fromUnknown(variables))))
