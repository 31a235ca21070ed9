// The gRPC status a client stream is answered with when it ends badly, and the reason it is counted under.
import * as grpc from "@grpc/grpc-js"
import { Cause } from "effect"
import type { RejectionReason, StreamBroken, StreamRejected } from "./stream-errors.ts"

/** The streams-failed counter's `reason` label; a stream ended by meshsight's shutdown is not counted. */
export type FailureReason = RejectionReason | "broken" | "internal"

export interface StreamStatus {
  readonly code: grpc.status
  readonly details: string
  /** Undefined for a shutdown: the proxy reconnects (to another replica) and nothing failed. */
  readonly reason: FailureReason | undefined
}

/**
 * How a stream that did not complete is answered: a rejection is the client's mistake (INVALID_ARGUMENT), a broken
 * transport is CANCELLED, meshsight's shutdown is UNAVAILABLE so the proxy reconnects, anything else is INTERNAL.
 */
export const streamStatus = (cause: Cause.Cause<StreamRejected | StreamBroken>): StreamStatus => {
  const failure = cause.reasons.find(Cause.isFailReason)?.error
  if (failure?._tag === "StreamRejected") return { code: grpc.status.INVALID_ARGUMENT, details: failure.detail, reason: failure.reason }
  if (failure?._tag === "StreamBroken") return { code: grpc.status.CANCELLED, details: failure.detail, reason: "broken" }
  if (Cause.hasInterrupts(cause)) return { code: grpc.status.UNAVAILABLE, details: "meshsight is shutting down", reason: undefined }
  return { code: grpc.status.INTERNAL, details: "meshsight could not process the stream", reason: "internal" }
}
