// meshsight's settings, read from the environment once at start-up and validated with Schema. Each setting has a
// meshsight name and, where SkyWalking has one, SkyWalking's name as an alias so existing deployments carry over.
import { Config, Context, Effect, Layer, Option, Schema, SchemaGetter } from "effect"
import { hostname } from "node:os"
import { compileTemplate, TemplateSyntaxError } from "./identity/name-template.ts"

export const KNOWN_ANALYZERS = ["mx-mesh", "k8s-mesh"] as const

export const DEFAULT_MX_SERVICE_NAME_RULE =
  '${LABELS."service.istio.io/canonical-name",LABELS."app.kubernetes.io/name",LABELS.app,LABELS."k8s-app",SERVICE}.${NAMESPACE}'
export const DEFAULT_MX_INSTANCE_NAME_RULE = "${NAME}"
export const DEFAULT_K8S_SERVICE_NAME_RULE =
  "${pod.metadata.labels.(service.istio.io/canonical-name)}.${pod.metadata.namespace}"
export const DEFAULT_K8S_INSTANCE_NAME_RULE = "${pod.metadata.name}.${pod.metadata.namespace}"

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
  readonly retentionMinutes: number
  readonly maxSeriesPerMinute: number
  readonly flushIntervalMs: number
  readonly apdexThresholdMs: number
  readonly apdexThresholdsMs: Readonly<Record<string, number>>
  readonly logLevel: "Trace" | "Debug" | "Info" | "Warn" | "Error"
  readonly logFormat: "json" | "pretty"
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
  Schema.decodeTo(Schema.Array(Schema.Literals(KNOWN_ANALYZERS)).check(Schema.isMinLength(1)), {
    // Typed as the literals here; the target schema checks each name right after.
    decode: SchemaGetter.transform((s: string) =>
      s.split(",").map((x) => x.trim()).filter((x) => x !== "") as Array<(typeof KNOWN_ANALYZERS)[number]>
    ),
    encode: SchemaGetter.transform((xs: ReadonlyArray<string>) => xs.join(","))
  })
)
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
  httpAnalyzers: setting({
    names: ["MESHSIGHT_HTTP_ANALYZERS", "SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS"],
    schema: analyzerList,
    expected: `a comma-separated list of analyzers from: ${KNOWN_ANALYZERS.join(", ")}`,
    default: ["mx-mesh"]
  }),
  tcpAnalyzers: setting({
    names: ["MESHSIGHT_TCP_ANALYZERS", "SW_ENVOY_METRIC_ALS_TCP_ANALYSIS"],
    schema: analyzerList,
    expected: `a comma-separated list of analyzers from: ${KNOWN_ANALYZERS.join(", ")}`,
    default: ["mx-mesh"]
  }),
  mxServiceNameRule: template(["MESHSIGHT_MX_SERVICE_NAME_RULE"], DEFAULT_MX_SERVICE_NAME_RULE),
  mxInstanceNameRule: template(["MESHSIGHT_MX_INSTANCE_NAME_RULE"], DEFAULT_MX_INSTANCE_NAME_RULE),
  k8sServiceNameRule: template(["MESHSIGHT_K8S_SERVICE_NAME_RULE", "K8S_SERVICE_NAME_RULE"], DEFAULT_K8S_SERVICE_NAME_RULE),
  k8sInstanceNameRule: template(["MESHSIGHT_K8S_INSTANCE_NAME_RULE"], DEFAULT_K8S_INSTANCE_NAME_RULE),
  retentionMinutes: setting({ names: ["MESHSIGHT_RETENTION_MINUTES"], schema: Int(1, 7 * 24 * 60), expected: "whole minutes from 1 to 10080", default: 120 }),
  maxSeriesPerMinute: setting({ names: ["MESHSIGHT_MAX_SERIES_PER_MINUTE"], schema: Int(1, 100_000_000), expected: "a positive whole number", default: 500_000 }),
  flushIntervalMs: setting({ names: ["MESHSIGHT_FLUSH_INTERVAL_MS"], schema: Int(10, 60_000), expected: "milliseconds from 10 to 60000", default: 1000 }),
  apdexThresholdMs: setting({ names: ["MESHSIGHT_APDEX_THRESHOLD_MS"], schema: Int(1, 3_600_000), expected: "milliseconds from 1 to 3600000", default: 500 }),
  apdexThresholdsMs: setting({
    names: ["MESHSIGHT_APDEX_THRESHOLDS"],
    schema: thresholdMap,
    expected: "comma-separated SERVICE=MILLISECONDS pairs",
    default: {}
  }),
  logLevel: setting({
    names: ["MESHSIGHT_LOG_LEVEL"],
    schema: Schema.Literals(["Trace", "Debug", "Info", "Warn", "Error"]),
    expected: "one of Trace, Debug, Info, Warn, Error",
    default: "Info" as const
  }),
  logFormat: setting({
    names: ["MESHSIGHT_LOG_FORMAT"],
    schema: Schema.Literals(["json", "pretty"]),
    expected: "json or pretty",
    default: "pretty" as const
  }),
  meshMetricsEnabled: setting({
    names: ["MESHSIGHT_MESH_METRICS"],
    schema: Schema.Literals(["true", "false"]),
    expected: "true or false",
    default: "true" as const
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
  return {
    grpcHost: grpc.host === "" ? "0.0.0.0" : grpc.host,
    grpcPort: grpc.port,
    alsGrpcHost: yield* read(SETTINGS.alsGrpcHost),
    alsGrpcPort: yield* read(SETTINGS.alsGrpcPort),
    grpcMaxMessageBytes: yield* read(SETTINGS.grpcMaxMessageBytes),
    httpHost: yield* read(SETTINGS.httpHost),
    httpPort: yield* read(SETTINGS.httpPort),
    httpAnalyzers: yield* read(SETTINGS.httpAnalyzers),
    tcpAnalyzers: yield* read(SETTINGS.tcpAnalyzers),
    mxServiceNameRule: yield* read(SETTINGS.mxServiceNameRule),
    mxInstanceNameRule: yield* read(SETTINGS.mxInstanceNameRule),
    k8sServiceNameRule: yield* read(SETTINGS.k8sServiceNameRule),
    k8sInstanceNameRule: yield* read(SETTINGS.k8sInstanceNameRule),
    retentionMinutes: yield* read(SETTINGS.retentionMinutes),
    maxSeriesPerMinute: yield* read(SETTINGS.maxSeriesPerMinute),
    flushIntervalMs: yield* read(SETTINGS.flushIntervalMs),
    apdexThresholdMs: yield* read(SETTINGS.apdexThresholdMs),
    apdexThresholdsMs: yield* read(SETTINGS.apdexThresholdsMs),
    logLevel: yield* read(SETTINGS.logLevel),
    logFormat: yield* read(SETTINGS.logFormat),
    meshMetricsEnabled: (yield* read(SETTINGS.meshMetricsEnabled)) === "true",
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

export const AppConfigLive = Layer.effect(AppConfig, loadConfig)

/** For tests and embedding: the defaults with some settings replaced. */
export const AppConfigWith = (overrides: Partial<AppConfigShape>) =>
  Layer.effect(AppConfig, Effect.map(loadConfig, (c) => ({ ...c, ...overrides })))
