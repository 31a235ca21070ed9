// How meshsight tunes grpc-js for Envoy's long-lived client streams: HTTP/2 flow-control windows, keepalive, the
// message size limit and the streams a connection may open. Everything here is a transport setting; none of it
// changes what a message means.
import type * as grpc from "@grpc/grpc-js"
import type { Http2Session } from "node:http2"

/**
 * HTTP/2 receive windows. Node's defaults (64 KiB per stream and per connection) let a sender have less than one
 * 100-entry ALS message (~75 KiB) in flight on the whole connection, so sender and receiver take turns waiting
 * for WINDOW_UPDATEs: measured, a no-op grpc-js server receives half as fast with them (bench/, docs/performance.md).
 * A stream's unread backlog stays bounded by its window: backpressure still holds, a window's worth later.
 */
const STREAM_WINDOW_BYTES = 1024 * 1024
const CONNECTION_WINDOW_BYTES = 8 * 1024 * 1024

/**
 * Runs `f` on each HTTP/2 session (connection) grpc-js's server accepts from now on, by wrapping the HTTP/2 server
 * it creates when binding; a throw in `f` is contained (inside grpc-js's server it would take the process down).
 * Returns the internals to adjust, or undefined, leaving the server alone, if grpc-js's have changed shape.
 */
export const onEachSession = (server: grpc.Server, f: (session: Http2Session) => void) => {
  const internals = server as unknown as {
    commonServerOptions?: { settings?: Record<string, unknown> }
    createHttp2Server?: (credentials: unknown) => { on: (event: "session", f: (session: Http2Session) => void) => void }
  }
  const create = internals.createHttp2Server
  if (internals.commonServerOptions === undefined || typeof create !== "function") return undefined
  internals.createHttp2Server = function (credentials) {
    const http2Server = create.call(this, credentials)
    http2Server.on("session", (session) => {
      try {
        f(session)
      } catch {
        // the session stays as grpc-js made it
      }
    })
    return http2Server
  }
  return internals as { commonServerOptions: { settings?: Record<string, unknown> } }
}

/**
 * grpc-js has no server option for flow-control windows, so set them on the HTTP/2 server it creates: the stream
 * window in its settings, the connection window on each session (a session left with the default window only
 * receives more slowly). Leaves the server as it is if grpc-js's internals have changed shape (then only
 * throughput suffers).
 */
export const widenFlowControlWindows = (server: grpc.Server): void => {
  const internals = onEachSession(server, (session) => session.setLocalWindowSize(CONNECTION_WINDOW_BYTES))
  if (internals === undefined) return
  internals.commonServerOptions.settings = { ...internals.commonServerOptions.settings, initialWindowSize: STREAM_WINDOW_BYTES }
}

export interface TuningSettings {
  readonly grpcMaxStreamsPerConnection: number
  readonly grpcMaxMessageBytes: number
  readonly grpcMaxConnectionAgeMs: number
  readonly grpcMaxConnectionAgeGraceMs: number
}

/**
 * Connection age: at the age grpc-js sends GOAWAY (no new streams on this connection) and, a grace later, closes
 * the connection under the streams still open. Envoy's ALS stream is then cut; Envoy opens its next one on a new
 * connection, which the Kubernetes Service may send to any replica. grpc-js (1.14, server.js `_sessionHandler`)
 * already jitters the age by ±10% per connection, so proxies connected together do not all reconnect together.
 */
const connectionAge = (settings: TuningSettings): grpc.ServerOptions =>
  settings.grpcMaxConnectionAgeMs === 0
    ? {}
    : {
        "grpc.max_connection_age_ms": settings.grpcMaxConnectionAgeMs,
        "grpc.max_connection_age_grace_ms": settings.grpcMaxConnectionAgeGraceMs
      }

/** grpc-js server options (the `interceptors` aside). */
export const serverTuning = (settings: TuningSettings): grpc.ServerOptions => ({
  "grpc.max_concurrent_streams": settings.grpcMaxStreamsPerConnection,
  "grpc.max_receive_message_length": settings.grpcMaxMessageBytes,
  // Envoy keeps ALS streams for the life of the proxy; keepalive pings find dead peers behind idle NATs.
  "grpc.keepalive_time_ms": 60_000,
  "grpc.keepalive_permit_without_calls": 1,
  ...connectionAge(settings)
})
