// The gRPC server's settings: where it listens, what it serves, and its limits (read by ./grpc-server.ts and
// ./grpc-tuning.ts). SkyWalking's receiver names are aliases.
import { Schema, SchemaGetter } from "effect"
import { Bool, filePath, Int, NonEmpty, setting } from "../util/setting.ts"

/** `host:port`, `[v6]:port` or a bare port (SkyWalking's SW_*_GRPC_PORT) → host and port ("" for a bare port). */
const hostPort = Schema.Trim.pipe(
  Schema.decodeTo(Schema.Struct({ host: Schema.String, port: Int(0, 65535) }), {
    decode: SchemaGetter.transform((s: string) => {
      const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s)
      return m ? { host: m[1] ?? m[2] ?? "", port: m[3] } : { host: "", port: s }
    }),
    encode: SchemaGetter.transform((v: { readonly host: string; readonly port: string }) => `${v.host}:${v.port}`)
  })
)

export const grpcAddress = setting({
  names: ["MESHSIGHT_GRPC_ADDRESS", "SW_RECEIVER_GRPC_PORT", "SW_CORE_GRPC_PORT"],
  schema: hostPort,
  expected: "HOST:PORT or a port number (0-65535)",
  default: { host: "0.0.0.0", port: 11800 }
})
/** The address's host, a bare port meaning all interfaces. */
export const grpcHostOf = (address: { readonly host: string }) => (address.host === "" ? "0.0.0.0" : address.host)

export const alsGrpcHost = setting({
  names: ["MESHSIGHT_ALS_GRPC_HOST", "SW_ALS_GRPC_HOST"],
  schema: NonEmpty,
  expected: "a host name or address",
  default: "0.0.0.0"
})
/** A dedicated ALS listener; 0 means ALS shares the main gRPC port. */
export const alsGrpcPort = setting({
  names: ["MESHSIGHT_ALS_GRPC_PORT", "SW_ALS_GRPC_PORT"],
  schema: Int(0, 65535),
  expected: "a port number (0-65535; 0 shares the main gRPC port)",
  default: 0
})
export const grpcMaxMessageBytes = setting({
  names: ["MESHSIGHT_GRPC_MAX_MESSAGE_BYTES", "SW_ALS_GRPC_MAX_MESSAGE_SIZE"],
  schema: Int(1024, 1024 * 1024 * 1024),
  expected: "a size in bytes from 1024 to 1073741824",
  default: 16 * 1024 * 1024
})
/** Serve Envoy's MetricsService (v2, v3) beside ALS; false leaves it unregistered (UNIMPLEMENTED). */
export const acceptMetricsService = setting({
  names: ["MESHSIGHT_ACCEPT_METRICS_SERVICE", "SW_ENVOY_METRIC_SERVICE"],
  schema: Bool,
  expected: "true or false",
  default: true
})
export const grpcMaxStreamsPerConnection = setting({
  names: ["MESHSIGHT_GRPC_MAX_STREAMS_PER_CONNECTION"],
  schema: Int(1, 1_000_000),
  expected: "a positive whole number",
  default: 100
})
export const grpcMaxStreams = setting({
  names: ["MESHSIGHT_GRPC_MAX_STREAMS"],
  schema: Int(1, 10_000_000),
  expected: "a positive whole number",
  default: 10_000
})
/**
 * After this long a connection is told to go (HTTP/2 GOAWAY), so that Envoy's hours-long ALS and MetricsService
 * streams reconnect through the Service and spread over replicas added since; 0 keeps connections for as long as
 * the proxy does. At most 7 days: grpc-js adds up to 10% jitter and Node's timers stop at 2^31-1 ms.
 */
export const grpcMaxConnectionAgeMs = setting({
  names: ["MESHSIGHT_GRPC_MAX_CONNECTION_AGE_MS"],
  schema: Int(0, 604_800_000),
  expected: "milliseconds from 0 (never) to 604800000 (7 days)",
  default: 30 * 60_000
})
/**
 * How long streams still open on a connection past its age may go on before the connection is closed under them.
 * Envoy does not end its ALS stream on GOAWAY, so for Envoy this is when the stream is cut; 0 cuts at the age.
 */
export const grpcMaxConnectionAgeGraceMs = setting({
  names: ["MESHSIGHT_GRPC_MAX_CONNECTION_AGE_GRACE_MS"],
  schema: Int(0, 604_800_000),
  expected: "milliseconds from 0 to 604800000 (7 days)",
  default: 30_000
})
/** Bearer tokens ALS and MetricsService calls must carry; "" asks for none. */
export const alsTokenFile = filePath(["MESHSIGHT_ALS_TOKEN_FILE"])
