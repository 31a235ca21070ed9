// meshsight's settings, read from the environment once at start-up and validated with Schema. Each setting has a
// meshsight name and, where SkyWalking has one, SkyWalking's name as an alias so existing deployments carry over.
import { Config, ConfigProvider, Context, Effect, Layer, Option, Schema, SchemaGetter } from "effect"
import { hostname } from "node:os"
import { compileTemplate, TemplateSyntaxError } from "./identity/name-template.ts"
import { defaultMemoryLimitMb } from "./memory/container-limit.ts"

// The identity analyzers, which name the sides of each entry, and SkyWalking's `persistence`, which instead keeps
// failed entries as error logs after identification (src/error-logs/), wherever it stands in the list.
export const KNOWN_ANALYZERS = ["mx-mesh", "k8s-mesh"] as const
export const LOG_ANALYZERS = ["persistence"] as const
const LISTED_ANALYZERS = [...KNOWN_ANALYZERS, ...LOG_ANALYZERS] as const
type Analyzer = (typeof KNOWN_ANALYZERS)[number]
type ListedAnalyzer = (typeof LISTED_ANALYZERS)[number]

export const LOG_LEVELS = ["Trace", "Debug", "Info", "Warn", "Error"] as const

export const DEFAULT_MX_SERVICE_NAME_RULE =
  '${LABELS."service.istio.io/canonical-name",LABELS."app.kubernetes.io/name",LABELS.app,LABELS."k8s-app",SERVICE}.${NAMESPACE}'
export const DEFAULT_MX_INSTANCE_NAME_RULE = "${NAME}"
export const DEFAULT_K8S_SERVICE_NAME_RULE =
  "${pod.metadata.labels.(service.istio.io/canonical-name)}.${pod.metadata.namespace}"
export const DEFAULT_K8S_INSTANCE_NAME_RULE = "${pod.metadata.name}.${pod.metadata.namespace}"
/** The entry's first host; SkyWalking's default is `${serviceEntry.metadata.name}.${serviceEntry.metadata.namespace}`. */
export const DEFAULT_ISTIO_SERVICE_NAME_RULE = "${serviceEntry.spec.hosts.0}"

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
  /** MESHSIGHT_MEMORY_LIMIT_MB: the memory budget (src/memory/budget.ts); default the container's limit, else 1024. */
  readonly memoryLimitMb: number
  readonly flushIntervalMs: number
  readonly apdexThresholdMs: number
  readonly apdexThresholdsMs: Readonly<Record<string, number>>
  /** Error logs kept per minute for each service and response code / flags (SkyWalking's envoy-als rateLimit rpm). */
  readonly errorLogRatePerMinute: number
  /** Error logs the in-memory store holds per service, and in all. */
  readonly errorLogsPerService: number
  readonly errorLogsMax: number
  /** When set, error logs go to this PostgreSQL database (shared by every replica) instead of memory. */
  readonly logsPostgresUrl: string
  readonly logsRetentionHours: number
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
  /** The Istio-standard metrics (/metrics/mesh and remote write); off: neither. */
  readonly meshMetricsEnabled: boolean
  readonly meshMetricsIdleMinutes: number
  readonly meshMetricsMaxSeries: number
  /** Remote-write endpoints; none: no remote write. */
  readonly remoteWriteUrls: ReadonlyArray<string>
  readonly remoteWriteIntervalMs: number
  readonly remoteWriteTimeoutMs: number
  readonly remoteWriteQueueSamples: number
  readonly remoteWriteUsername: string
  readonly remoteWritePassword: string
  readonly remoteWriteBearerToken: string
  readonly remoteWriteHeaders: Readonly<Record<string, string>>
  /** The `meshsight_replica` label of every remote-written series. */
  readonly replica: string
}

export class AppConfig extends Context.Service<AppConfig, AppConfigShape>()("meshsight/AppConfig") {}

/** Start-up stops with this: one line naming the variable and what is wrong with its value. */
export class InvalidSetting extends Schema.TaggedError<InvalidSetting>()("InvalidSetting", {
  variable: Schema.String,
  value: Schema.String,
  expected: Schema.String
}) {
  override get message(): string {
    return `invalid ${this.variable}=${JSON.stringify(this.value)}: expected ${this.expected}`
  }
}

interface Setting<A> {
  /** The meshsight name first, then accepted aliases. */
  readonly names: ReadonlyArray<string>
  readonly schema: Schema.Codec<A, string>
  readonly expected: string
  readonly default: A
  /** A further check after decoding: the problem, or undefined when the value is fine. */
  readonly validate?: (value: A) => string | undefined
}

const setting = <A>(s: Setting<A>) => s

/** A name template that compiles (src/identity/name-template.ts). */
const template = (names: ReadonlyArray<string>, defaultRule: string) =>
  setting({
    names,
    schema: NonEmpty,
    expected: "a name template",
    default: defaultRule,
    validate: (rule) => {
      try {
        compileTemplate(rule)
        return undefined
      } catch (e) {
        return e instanceof TemplateSyntaxError ? e.message : String(e)
      }
    }
  })

const Int = (minimum: number, maximum: number) =>
  Schema.FiniteFromString.check(Schema.isInt(), Schema.isBetween({ minimum, maximum }))
const Trimmed = Schema.Trim
const NonEmpty = Schema.Trim.check(Schema.isMinLength(1))
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
    expected: `a comma-separated list of analyzers from: ${LISTED_ANALYZERS.join(", ")}`,
    default: ["mx-mesh"],
    validate: (xs) => (xs.some(isRunnable) ? undefined : `at least one of ${KNOWN_ANALYZERS.join(", ")}`)
  })
const thresholdMap = Schema.Trim.pipe(
  Schema.decodeTo(Schema.Record(Schema.String, Schema.Finite.check(Schema.isGreaterThan(0))), {
    decode: SchemaGetter.transform((s: string) =>
      Object.fromEntries(
        s.split(",").filter((x) => x.trim() !== "").map((pair) => {
          const eq = pair.lastIndexOf("=")
          return [pair.slice(0, eq).trim(), eq > 0 ? Number(pair.slice(eq + 1)) : Number.NaN]
        })
      )
    ),
    encode: SchemaGetter.transform((r: Readonly<Record<string, number>>) =>
      Object.entries(r).map(([k, v]) => `${k}=${v}`).join(",")
    )
  })
)

/** `true` / `false`, any case (SkyWalking's boolean settings). */
const Bool = Schema.Trim.check(Schema.isPattern(/^(true|false)$/i)).pipe(
  Schema.decodeTo(Schema.Boolean, {
    decode: SchemaGetter.transform((s: string) => s.toLowerCase() === "true"),
    encode: SchemaGetter.transform((b: boolean) => String(b))
  })
)

/** A file path; empty (SkyWalking's default for its TLS paths) means unset. */
const filePath = (names: ReadonlyArray<string>) => setting({ names, schema: Trimmed, expected: "a file path", default: "" })
const hostList = Schema.Trim.pipe(
  Schema.decodeTo(Schema.Array(Schema.String), {
    decode: SchemaGetter.transform((s: string) => s.split(",").map((x) => x.trim().toLowerCase()).filter((x) => x !== "")),
    encode: SchemaGetter.transform((xs: ReadonlyArray<string>) => xs.join(","))
  })
)
const urlList = Schema.Trim.pipe(
  Schema.decodeTo(Schema.Array(Schema.String.check(Schema.isPattern(/^https?:\/\/[^\s]+$/))), {
    decode: SchemaGetter.transform((s: string) => s.split(",").map((x) => x.trim()).filter((x) => x !== "")),
    encode: SchemaGetter.transform((xs: ReadonlyArray<string>) => xs.join(","))
  })
)
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** `Name=value,Name2=value2`: extra HTTP headers. */
const headerMap = Schema.Trim.pipe(
  Schema.decodeTo(Schema.Record(Schema.String, Schema.String), {
    decode: SchemaGetter.transform((s: string) =>
      Object.fromEntries(
        s.split(",").filter((x) => x.trim() !== "").map((pair) => {
          const eq = pair.indexOf("=")
          return eq > 0 ? [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()] : ["", ""]
        })
      )
    ),
    encode: SchemaGetter.transform((r: Readonly<Record<string, string>>) =>
      Object.entries(r).map(([k, v]) => `${k}=${v}`).join(",")
    )
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
  mxServiceNameRule: template(["MESHSIGHT_MX_SERVICE_NAME_RULE"], DEFAULT_MX_SERVICE_NAME_RULE),
  mxInstanceNameRule: template(["MESHSIGHT_MX_INSTANCE_NAME_RULE"], DEFAULT_MX_INSTANCE_NAME_RULE),
  k8sServiceNameRule: template(["MESHSIGHT_K8S_SERVICE_NAME_RULE", "K8S_SERVICE_NAME_RULE"], DEFAULT_K8S_SERVICE_NAME_RULE),
  k8sInstanceNameRule: template(["MESHSIGHT_K8S_INSTANCE_NAME_RULE"], DEFAULT_K8S_INSTANCE_NAME_RULE),
  istioServiceNameRule: template(["MESHSIGHT_ISTIO_SERVICE_NAME_RULE", "ISTIO_SERVICE_NAME_RULE"], DEFAULT_ISTIO_SERVICE_NAME_RULE),
  retentionMinutes: setting({ names: ["MESHSIGHT_RETENTION_MINUTES"], schema: Int(1, 7 * 24 * 60), expected: "whole minutes from 1 to 10080", default: 120 }),
  maxSeriesPerMinute: setting({ names: ["MESHSIGHT_MAX_SERIES_PER_MINUTE"], schema: Int(1, 100_000_000), expected: "a positive whole number", default: 500_000 }),
  // 0: not set, the container's cgroup limit or 1024 (src/memory/container-limit.ts).
  memoryLimitMb: setting({ names: ["MESHSIGHT_MEMORY_LIMIT_MB"], schema: Int(64, 1_048_576), expected: "whole MiB from 64 to 1048576", default: 0 }),
  flushIntervalMs: setting({ names: ["MESHSIGHT_FLUSH_INTERVAL_MS"], schema: Int(10, 60_000), expected: "milliseconds from 10 to 60000", default: 1000 }),
  apdexThresholdMs: setting({ names: ["MESHSIGHT_APDEX_THRESHOLD_MS"], schema: Int(1, 3_600_000), expected: "milliseconds from 1 to 3600000", default: 500 }),
  apdexThresholdsMs: setting({
    names: ["MESHSIGHT_APDEX_THRESHOLDS"],
    schema: thresholdMap,
    expected: "comma-separated SERVICE=MILLISECONDS pairs",
    default: {}
  }),
  errorLogRatePerMinute: setting({
    names: ["MESHSIGHT_ERROR_LOG_RATE_PER_MINUTE"],
    schema: Int(1, 10_000_000),
    expected: "a positive whole number",
    default: 6000
  }),
  errorLogsPerService: setting({ names: ["MESHSIGHT_ERROR_LOGS_PER_SERVICE"], schema: Int(1, 1_000_000), expected: "a positive whole number", default: 1000 }),
  errorLogsMax: setting({ names: ["MESHSIGHT_ERROR_LOGS_MAX"], schema: Int(1, 10_000_000), expected: "a positive whole number", default: 10_000 }),
  logsPostgresUrl: setting({
    names: ["MESHSIGHT_LOGS_POSTGRES_URL"],
    schema: Trimmed,
    expected: "a postgres:// or postgresql:// URL",
    default: "",
    validate: (url) => url === "" || /^postgres(ql)?:\/\/./.test(url) ? undefined : "not a PostgreSQL URL"
  }),
  logsRetentionHours: setting({ names: ["MESHSIGHT_LOGS_RETENTION_HOURS"], schema: Int(1, 24 * 365), expected: "whole hours from 1 to 8760", default: 72 }),
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
  proxyMaxInstances: setting({ names: ["MESHSIGHT_PROXY_MAX_INSTANCES"], schema: Int(1, 10_000_000), expected: "a positive whole number", default: 10_000 }),
  proxyMaxClusterPairs: setting({ names: ["MESHSIGHT_PROXY_MAX_CLUSTER_PAIRS"], schema: Int(1, 100_000_000), expected: "a positive whole number", default: 50_000 }),
  endpointGroupingFile: setting({ names: ["MESHSIGHT_ENDPOINT_GROUPING_FILE"], schema: NonEmpty, expected: "a file path", default: "" }),
  maxEndpointsPerService: setting({
    names: ["MESHSIGHT_MAX_ENDPOINTS_PER_SERVICE", "SW_CORE_MAX_HTTP_URIS_NUMBER_PER_SVR"],
    schema: Int(1, 10_000_000),
    expected: "a positive whole number",
    default: 3000
  }),
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
  }),
  meshMetricsEnabled: setting({
    names: ["MESHSIGHT_MESH_METRICS"],
    schema: Bool,
    expected: "true or false",
    default: true
  }),
  meshMetricsIdleMinutes: setting({ names: ["MESHSIGHT_MESH_METRICS_IDLE_MINUTES"], schema: Int(1, 7 * 24 * 60), expected: "whole minutes from 1 to 10080", default: 10 }),
  meshMetricsMaxSeries: setting({ names: ["MESHSIGHT_MESH_METRICS_MAX_SERIES"], schema: Int(1, 100_000_000), expected: "a positive whole number", default: 20_000 }),
  remoteWriteUrls: setting({
    names: ["MESHSIGHT_REMOTE_WRITE_URL"],
    schema: urlList,
    expected: "comma-separated http:// or https:// URLs",
    default: [] as ReadonlyArray<string>
  }),
  remoteWriteIntervalMs: setting({ names: ["MESHSIGHT_REMOTE_WRITE_INTERVAL_MS"], schema: Int(100, 3_600_000), expected: "milliseconds from 100 to 3600000", default: 15_000 }),
  remoteWriteTimeoutMs: setting({ names: ["MESHSIGHT_REMOTE_WRITE_TIMEOUT_MS"], schema: Int(100, 600_000), expected: "milliseconds from 100 to 600000", default: 10_000 }),
  remoteWriteQueueSamples: setting({ names: ["MESHSIGHT_REMOTE_WRITE_QUEUE_SAMPLES"], schema: Int(1, 1_000_000_000), expected: "a positive whole number", default: 10_000_000 }),
  remoteWriteUsername: setting({ names: ["MESHSIGHT_REMOTE_WRITE_USERNAME"], schema: Trimmed, expected: "a user name", default: "" }),
  remoteWritePassword: setting({ names: ["MESHSIGHT_REMOTE_WRITE_PASSWORD"], schema: Schema.String, expected: "a password", default: "" }),
  remoteWriteBearerToken: setting({ names: ["MESHSIGHT_REMOTE_WRITE_BEARER_TOKEN"], schema: Trimmed, expected: "a token", default: "" }),
  remoteWriteHeaders: setting({
    names: ["MESHSIGHT_REMOTE_WRITE_HEADERS"],
    schema: headerMap,
    expected: "comma-separated Header-Name=value pairs",
    default: {} as Readonly<Record<string, string>>,
    validate: (headers) => {
      const bad = Object.keys(headers).find((k) => !HEADER_NAME.test(k))
      return bad === undefined ? undefined : bad === "" ? "a pair without a name" : `not a header name: ${bad}`
    }
  }),
  replica: setting({ names: ["MESHSIGHT_REPLICA"], schema: NonEmpty, expected: "a non-empty name", default: hostname() })
}

/** Every variable name some setting reads. */
const IMPLEMENTED = new Set(Object.values(SETTINGS).flatMap((s) => s.names))

/** Names of the variables under `path` (`["SW"]`: every `SW_*`); the environment provider splits names at `_`. */
const variablesUnder = (provider: ConfigProvider.ConfigProvider, path: ReadonlyArray<string>): Effect.Effect<Array<string>> =>
  Effect.gen(function*() {
    const node = yield* provider.load(path).pipe(Effect.orElseSucceed(() => undefined))
    if (node === undefined || node._tag === "Array") return []
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

/** Settings that only make sense together: the first that is set without its partner. */
const PAIRS: ReadonlyArray<readonly [keyof typeof SETTINGS, keyof typeof SETTINGS, string]> = [
  ["grpcTlsCertFile", "grpcTlsKeyFile", "the gRPC TLS certificate and key are set together"],
  ["grpcTlsKeyFile", "grpcTlsCertFile", "the gRPC TLS certificate and key are set together"],
  ["grpcTlsClientCaFile", "grpcTlsCertFile", "client certificates need the gRPC port to serve TLS (MESHSIGHT_GRPC_TLS_CERT_FILE)"],
  ["httpTlsCertFile", "httpTlsKeyFile", "the HTTP TLS certificate and key are set together"],
  ["httpTlsKeyFile", "httpTlsCertFile", "the HTTP TLS certificate and key are set together"]
]

/** The first of a setting's names that is set wins; unset → the default. */
const read = <A>(s: Setting<A>): Effect.Effect<A, InvalidSetting> =>
  Effect.gen(function*() {
    for (const name of s.names) {
      const raw = yield* Config.option(Config.String(name)).pipe(Effect.orElseSucceed(() => Option.none<string>()))
      if (Option.isNone(raw)) continue
      const decoded = Schema.decodeUnknownOption(s.schema)(raw.value)
      if (Option.isNone(decoded)) {
        return yield* new InvalidSetting({ variable: name, value: raw.value, expected: s.expected })
      }
      const problem = s.validate?.(decoded.value)
      if (problem !== undefined) {
        return yield* new InvalidSetting({ variable: name, value: raw.value, expected: `${s.expected} (${problem})` })
      }
      return decoded.value
    }
    return s.default
  })

export const loadConfig: Effect.Effect<AppConfigShape, InvalidSetting> = Effect.gen(function*() {
  const grpc = yield* read(SETTINGS.grpc)
  const httpAnalyzers = yield* read(SETTINGS.httpAnalyzers)
  const tcpAnalyzers = yield* read(SETTINGS.tcpAnalyzers)
  const skyWalkingVariables = yield* variablesUnder(yield* ConfigProvider.ConfigProvider, ["SW"])
  return {
    grpcHost: grpc.host === "" ? "0.0.0.0" : grpc.host,
    grpcPort: grpc.port,
    alsGrpcHost: yield* read(SETTINGS.alsGrpcHost),
    alsGrpcPort: yield* read(SETTINGS.alsGrpcPort),
    grpcMaxMessageBytes: yield* read(SETTINGS.grpcMaxMessageBytes),
    httpHost: yield* read(SETTINGS.httpHost),
    httpPort: yield* read(SETTINGS.httpPort),
    httpAnalyzers,
    tcpAnalyzers,
    mxServiceNameRule: yield* read(SETTINGS.mxServiceNameRule),
    mxInstanceNameRule: yield* read(SETTINGS.mxInstanceNameRule),
    k8sServiceNameRule: yield* read(SETTINGS.k8sServiceNameRule),
    k8sInstanceNameRule: yield* read(SETTINGS.k8sInstanceNameRule),
    istioServiceNameRule: yield* read(SETTINGS.istioServiceNameRule),
    retentionMinutes: yield* read(SETTINGS.retentionMinutes),
    maxSeriesPerMinute: yield* read(SETTINGS.maxSeriesPerMinute),
    memoryLimitMb: (yield* read(SETTINGS.memoryLimitMb)) || defaultMemoryLimitMb(),
    flushIntervalMs: yield* read(SETTINGS.flushIntervalMs),
    apdexThresholdMs: yield* read(SETTINGS.apdexThresholdMs),
    apdexThresholdsMs: yield* read(SETTINGS.apdexThresholdsMs),
    errorLogRatePerMinute: yield* read(SETTINGS.errorLogRatePerMinute),
    errorLogsPerService: yield* read(SETTINGS.errorLogsPerService),
    errorLogsMax: yield* read(SETTINGS.errorLogsMax),
    logsPostgresUrl: yield* read(SETTINGS.logsPostgresUrl),
    logsRetentionHours: yield* read(SETTINGS.logsRetentionHours),
    logLevel: yield* read(SETTINGS.logLevel),
    logFormat: yield* read(SETTINGS.logFormat),
    acceptMetricsService: yield* read(SETTINGS.acceptMetricsService),
    proxyMaxInstances: yield* read(SETTINGS.proxyMaxInstances),
    proxyMaxClusterPairs: yield* read(SETTINGS.proxyMaxClusterPairs),
    endpointGroupingFile: (yield* read(SETTINGS.endpointGroupingFile)) || undefined,
    maxEndpointsPerService: yield* read(SETTINGS.maxEndpointsPerService),
    warnings: warningsFor(skyWalkingVariables.filter((name) => !IMPLEMENTED.has(name))),
    ...yield* securitySettings,
    meshMetricsEnabled: yield* read(SETTINGS.meshMetricsEnabled),
    meshMetricsIdleMinutes: yield* read(SETTINGS.meshMetricsIdleMinutes),
    meshMetricsMaxSeries: yield* read(SETTINGS.meshMetricsMaxSeries),
    remoteWriteUrls: yield* read(SETTINGS.remoteWriteUrls),
    remoteWriteIntervalMs: yield* read(SETTINGS.remoteWriteIntervalMs),
    remoteWriteTimeoutMs: yield* read(SETTINGS.remoteWriteTimeoutMs),
    remoteWriteQueueSamples: yield* read(SETTINGS.remoteWriteQueueSamples),
    remoteWriteUsername: yield* read(SETTINGS.remoteWriteUsername),
    remoteWritePassword: yield* read(SETTINGS.remoteWritePassword),
    remoteWriteBearerToken: yield* read(SETTINGS.remoteWriteBearerToken),
    remoteWriteHeaders: yield* read(SETTINGS.remoteWriteHeaders),
    replica: yield* read(SETTINGS.replica)
  }
})

const securitySettings = Effect.gen(function*() {
  const s = {
    grpcTlsCertFile: yield* read(SETTINGS.grpcTlsCertFile),
    grpcTlsKeyFile: yield* read(SETTINGS.grpcTlsKeyFile),
    grpcTlsClientCaFile: yield* read(SETTINGS.grpcTlsClientCaFile),
    httpTlsCertFile: yield* read(SETTINGS.httpTlsCertFile),
    httpTlsKeyFile: yield* read(SETTINGS.httpTlsKeyFile),
    apiTokenFile: yield* read(SETTINGS.apiTokenFile),
    alsTokenFile: yield* read(SETTINGS.alsTokenFile),
    fileReloadIntervalMs: yield* read(SETTINGS.fileReloadIntervalMs),
    httpAllowedHosts: yield* read(SETTINGS.httpAllowedHosts),
    grpcMaxStreamsPerConnection: yield* read(SETTINGS.grpcMaxStreamsPerConnection),
    grpcMaxStreams: yield* read(SETTINGS.grpcMaxStreams)
  }
  for (const [set, partner, why] of PAIRS) {
    if (s[set as keyof typeof s] !== "" && s[partner as keyof typeof s] === "") {
      return yield* new InvalidSetting({ variable: SETTINGS[set].names[0]!, value: String(s[set as keyof typeof s]), expected: `${SETTINGS[partner].names[0]} too: ${why}` })
    }
  }
  return s
})

export const AppConfigLive = Layer.effect(AppConfig, loadConfig)

/** For tests and embedding: the defaults with some settings replaced. */
export const AppConfigWith = (overrides: Partial<AppConfigShape>) =>
  Layer.effect(AppConfig, Effect.map(loadConfig, (c) => ({ ...c, ...overrides })))
