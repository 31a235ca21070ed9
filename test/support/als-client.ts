// A real grpc-js client for Envoy's AccessLogService (and MetricsService), sending pre-encoded StreamAccessLogsMessage
// (StreamMetricsMessage) bytes the way Envoy does: one client-streaming call, the identifier on its first message.
import * as grpc from "@grpc/grpc-js"
import { makeAlsClient, makeMetricsClient } from "../../src/ingest/service-definitions.ts"

/** How a call ended: code 0 (OK) or a gRPC error status with its details. */
export interface CallStatus {
  readonly code: grpc.status
  readonly details: string
}

export interface AlsStream {
  /** Writes one message, waiting for the transport when it asks the writer to slow down. */
  readonly write: (message: Uint8Array) => Promise<void>
  /** Half-closes the stream and waits for the server's answer. */
  readonly end: () => Promise<CallStatus>
  /** Cancels the call, as a proxy that goes away mid-stream. */
  readonly cancel: () => void
  /** Resolves with the status whenever the server answers (also before `end`, when it rejects the stream). */
  readonly status: Promise<CallStatus>
  /**
   * Resolves once the connection under the stream, having been ready, no longer is: grpc-js's channel leaves READY
   * when its transport gets the server's GOAWAY (or loses the connection). The stream itself goes on until the
   * server ends it or closes the connection.
   */
  readonly connectionLeft: Promise<void>
  readonly close: () => void
}

/** How the client connects: TLS credentials instead of plaintext, a bearer token to send, and which service. */
export interface AlsConnection {
  readonly credentials?: grpc.ChannelCredentials
  readonly token?: string
  /** The TLS server name to check the certificate against (default: the target's host). */
  readonly serverName?: string
  /** AccessLogService (the default) or MetricsService. */
  readonly service?: "als" | "metrics"
  /** A connection of its own (grpc-js otherwise shares one among clients of the same target and options). */
  readonly ownConnection?: boolean
}

/** The client-streaming call of either service, as Envoy opens it. */
export const openAlsStream = (port: number, version: "v2" | "v3" = "v3", connection: AlsConnection = {}): AlsStream => {
  const options = {
    ...(connection.serverName === undefined ? {} : { "grpc.ssl_target_name_override": connection.serverName }),
    ...(connection.ownConnection === true ? { "grpc.use_local_subchannel_pool": 1 } : {})
  }
  const target = `127.0.0.1:${port}`
  let settle: (s: CallStatus) => void = () => {}
  const status = new Promise<CallStatus>((resolve) => (settle = resolve))
  const done = (err: grpc.ServiceError | null) =>
    settle(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: "" })
  const metadata = new grpc.Metadata()
  if (connection.token !== undefined) metadata.set("authorization", `Bearer ${connection.token}`)
  const [client, call] =
    connection.service === "metrics"
      ? ((c) => [c, c.StreamMetrics(metadata, done)] as const)(makeMetricsClient(target, version, options, connection.credentials))
      : ((c) => [c, c.StreamAccessLogs(metadata, done)] as const)(makeAlsClient(target, version, options, connection.credentials))
  const ended = status.then(() => {})
  const channel = client.getChannel()
  const connectionLeft = new Promise<void>((resolve) => {
    const watch = (wasReady: boolean) => {
      const state = channel.getConnectivityState(false)
      if (wasReady && state !== grpc.connectivityState.READY) return resolve()
      // The channel closes with the client: no change comes then.
      if (state === grpc.connectivityState.SHUTDOWN) return
      channel.watchConnectivityState(state, Infinity, () => watch(wasReady || state === grpc.connectivityState.READY))
    }
    watch(false)
  })
  return {
    // A write waiting for 'drain' also ends when the call does (cancelled or answered): no drain follows then.
    write: (message) =>
      Promise.race([
        new Promise<void>((resolve) => {
          if (call.write(Buffer.from(message.buffer, message.byteOffset, message.byteLength))) resolve()
          else call.once("drain", () => resolve())
        }),
        ended
      ]),
    end: () => {
      call.end()
      return status
    },
    cancel: () => call.cancel(),
    status,
    connectionLeft,
    close: () => client.close()
  }
}

/** One stream carrying `messages` in order; resolves with the server's answer. */
export const sendAlsMessages = async (
  port: number,
  messages: ReadonlyArray<Uint8Array>,
  version: "v2" | "v3" = "v3",
  connection: AlsConnection = {}
): Promise<CallStatus> => {
  const stream = openAlsStream(port, version, connection)
  try {
    for (const m of messages) await stream.write(m)
    return await stream.end()
  } finally {
    stream.close()
  }
}
