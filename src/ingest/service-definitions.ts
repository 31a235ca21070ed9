// gRPC method definitions with raw-bytes (de)serializers: meshsight decodes ALS messages itself, whole and lazily
// (src/protocol/als-codec.ts), so grpc-js hands over the bytes untouched. Paths follow proto/.
import * as grpc from "@grpc/grpc-js"

const raw = (b: Buffer): Buffer => b
const EMPTY = Buffer.alloc(0)

const clientStreaming = (path: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path,
  requestStream: true,
  responseStream: false,
  requestSerialize: raw,
  requestDeserialize: raw,
  responseSerialize: raw,
  responseDeserialize: raw
})

export const ALS_SERVICE_NAMES = {
  v3: "envoy.service.accesslog.v3.AccessLogService",
  v2: "envoy.service.accesslog.v2.AccessLogService"
} as const

export const accessLogService = (version: keyof typeof ALS_SERVICE_NAMES): grpc.ServiceDefinition => ({
  StreamAccessLogs: clientStreaming(`/${ALS_SERVICE_NAMES[version]}/StreamAccessLogs`)
})

export const METRICS_SERVICE_NAMES = {
  v3: "envoy.service.metrics.v3.MetricsService",
  v2: "envoy.service.metrics.v2.MetricsService"
} as const

export const metricsService = (version: keyof typeof METRICS_SERVICE_NAMES): grpc.ServiceDefinition => ({
  StreamMetrics: clientStreaming(`/${METRICS_SERVICE_NAMES[version]}/StreamMetrics`)
})

/** A MetricsService client on the same raw-bytes definitions (simulator, benchmark, tests). */
export type MetricsClient = grpc.Client & {
  readonly StreamMetrics: {
    (callback: (err: grpc.ServiceError | null) => void): grpc.ClientWritableStream<Buffer>
    (metadata: grpc.Metadata, callback: (err: grpc.ServiceError | null) => void): grpc.ClientWritableStream<Buffer>
  }
}

export const makeMetricsClient = (
  target: string,
  version: keyof typeof METRICS_SERVICE_NAMES = "v3",
  options?: grpc.ClientOptions,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()
): MetricsClient => {
  const Client = grpc.makeGenericClientConstructor(metricsService(version), "MetricsService")
  return new Client(target, credentials, options) as unknown as MetricsClient
}

/** An ALS client on the same raw-bytes definitions: the simulator's proxies, the benchmark's and the tests'. */
export type AlsClient = grpc.Client & {
  readonly StreamAccessLogs: {
    (callback: (err: grpc.ServiceError | null) => void): grpc.ClientWritableStream<Buffer>
    (metadata: grpc.Metadata, callback: (err: grpc.ServiceError | null) => void): grpc.ClientWritableStream<Buffer>
  }
}

export const makeAlsClient = (
  target: string,
  version: keyof typeof ALS_SERVICE_NAMES = "v3",
  options?: grpc.ClientOptions,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()
): AlsClient => {
  const Client = grpc.makeGenericClientConstructor(accessLogService(version), "AccessLogService")
  return new Client(target, credentials, options) as unknown as AlsClient
}

/** StreamAccessLogsResponse and StreamMetricsResponse have no fields: their encoding is empty. */
export const EMPTY_RESPONSE = EMPTY

export const HEALTH_SERVICE_NAME = "grpc.health.v1.Health"

export const healthService: grpc.ServiceDefinition = {
  Check: {
    path: `/${HEALTH_SERVICE_NAME}/Check`,
    requestStream: false,
    responseStream: false,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw
  },
  Watch: {
    path: `/${HEALTH_SERVICE_NAME}/Watch`,
    requestStream: false,
    responseStream: true,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw
  }
}
