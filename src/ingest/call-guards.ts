// Checks every gRPC call passes before its handler runs (grpc-js server interceptors): a bearer token when
// MESHSIGHT_ALS_TOKEN_FILE is set (Envoy sends it as `initial_metadata` on its gRPC service), and a cap on the calls
// open at once across all connections (grpc-js caps them per connection: `grpc.max_concurrent_streams`). The
// grpc.health.v1 service stays open to both, for probes.
import * as grpc from "@grpc/grpc-js"
import { bearerToken, type TokenSet } from "../security/tokens.ts"
import { HEALTH_SERVICE_NAME } from "./service-definitions.ts"

export type RefusalReason = "unauthenticated" | "too_many_streams"

export interface CallGuardOptions {
  /** Required tokens; undefined: no token asked for. */
  readonly tokens: TokenSet | undefined
  /** Calls open at once, over all connections; more are answered RESOURCE_EXHAUSTED. */
  readonly maxCalls: number
  /** Told about each refused call (to count and log it). */
  readonly onRefused: (reason: RefusalReason, peer: string) => void
}

const HEALTH_PREFIX = `/${HEALTH_SERVICE_NAME}/`

const tokenOf = (metadata: grpc.Metadata): string | undefined => {
  const value = metadata.get("authorization")[0]
  return typeof value === "string" ? bearerToken(value) : undefined
}

export const callGuards = (options: CallGuardOptions): grpc.ServerInterceptor => {
  let open = 0
  return (method, call) => {
    if (method.path.startsWith(HEALTH_PREFIX)) return new grpc.ServerInterceptingCall(call)
    let counted = false
    const release = () => {
      if (counted) open--
      counted = false
    }
    const refuse = (reason: RefusalReason, code: grpc.status, details: string) => {
      options.onRefused(reason, call.getPeer())
      call.sendStatus({ code, details, metadata: new grpc.Metadata() })
    }
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, pass) => {
            const token = options.tokens === undefined ? undefined : tokenOf(metadata)
            if (options.tokens !== undefined && (token === undefined || !options.tokens.accepts(token))) {
              return refuse("unauthenticated", grpc.status.UNAUTHENTICATED, "a valid `authorization: Bearer TOKEN` is required")
            }
            if (open >= options.maxCalls) {
              return refuse(
                "too_many_streams",
                grpc.status.RESOURCE_EXHAUSTED,
                `meshsight has ${open} calls open, its limit (MESHSIGHT_GRPC_MAX_STREAMS)`
              )
            }
            open++
            counted = true
            pass(metadata)
          },
          onCancel: release
        }),
      sendStatus: (status, pass) => {
        release()
        pass(status)
      }
    })
  }
}
