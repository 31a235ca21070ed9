// Which streams ended because meshsight recycled their connection (MESHSIGHT_GRPC_MAX_CONNECTION_AGE_MS), so that
// the stream cut at the end of the grace is told apart from a proxy that went away: the former is routine, every
// proxy once per age, and is neither a warning nor a broken stream.
import type * as grpc from "@grpc/grpc-js"
import type { Http2Session } from "node:http2"
import { onEachSession } from "./grpc-tuning.ts"

export interface AgedConnections {
  /** The connection a call arrived on, by the call's peer; undefined if unknown. */
  readonly connectionOf: (peer: string) => Http2Session | undefined
  /** Whether meshsight has told this connection to go (GOAWAY). */
  readonly toldToGo: (connection: Http2Session | undefined) => boolean
}

const MAX_AGE = "max_age"

/**
 * grpc-js sends the max-age GOAWAY itself and says so to no one, so each session's `goaway` is wrapped to note it:
 * the one whose opaque data is grpc-js's `max_age` (server.js `kMaxAge`); Node's own `close()` sends a plain one,
 * also when the proxy closes the connection. grpc-js names a call's peer `address:port` from the session's socket
 * (server-interceptors.js `getPeer`), which is how a call finds its session. If grpc-js's internals have changed
 * shape no connection is known, and a cut stream is reported as broken, as before.
 */
export const trackAgedConnections = (server: grpc.Server): AgedConnections => {
  const open = new Map<string, Http2Session>()
  const told = new WeakSet<Http2Session>()
  onEachSession(server, (session) => {
    const socket = session.socket
    const peer = `${socket.remoteAddress}:${socket.remotePort}`
    open.set(peer, session)
    session.once("close", () => open.get(peer) === session && open.delete(peer))
    const goaway = session.goaway
    session.goaway = function (this: Http2Session, ...args: Parameters<Http2Session["goaway"]>) {
      const opaqueData = args[2]
      if (opaqueData !== undefined && Buffer.from(opaqueData.buffer, opaqueData.byteOffset, opaqueData.byteLength).toString() === MAX_AGE) {
        told.add(session)
      }
      return goaway.apply(this, args)
    }
  })
  return { connectionOf: (peer) => open.get(peer), toldToGo: (connection) => connection !== undefined && told.has(connection) }
}
