// How a client stream (ALS, MetricsService) that did not complete is answered, and the reason it is counted
// under: one pure mapping from the stream's failure to a gRPC status.
import * as grpc from "@grpc/grpc-js"
import { Cause } from "effect"
import type { RefusalReason, RejectionReason, StreamBroken, StreamRefused, StreamRejected } from "./stream-errors.ts"

/** The streams-failed counter's `reason` label. */
export type FailureReason = RejectionReason | RefusalReason | "broken" | "internal"

export type StreamEnd =
  | {
      readonly outcome: "rejected" | "refused" | "broken" | "internal"
      readonly code: grpc.status
      readonly details: string
      readonly reason: FailureReason
    }
  /** meshsight is shutting down: nothing failed, the proxy reconnects (to another replica). */
  | { readonly outcome: "shutdown"; readonly code: grpc.status; readonly details: string }

/**
 * A rejection is the client's mistake (INVALID_ARGUMENT); a refusal is meshsight declining work it cannot hold
 * (RESOURCE_EXHAUSTED); a broken transport is CANCELLED; a shutdown UNAVAILABLE; anything else INTERNAL. A failure
 * that raced the shutdown is still the client's to hear about.
 */
export const streamStatus = (cause: Cause.Cause<StreamRejected | StreamRefused | StreamBroken>): StreamEnd => {
  const failure = cause.reasons.find(Cause.isFailReason)?.error
  switch (failure?._tag) {
    case "StreamRejected":
      return { outcome: "rejected", code: grpc.status.INVALID_ARGUMENT, details: failure.detail, reason: failure.reason }
    case "StreamRefused":
      return { outcome: "refused", code: grpc.status.RESOURCE_EXHAUSTED, details: failure.detail, reason: failure.reason }
    case "StreamBroken":
      return { outcome: "broken", code: grpc.status.CANCELLED, details: failure.detail, reason: "broken" }
  }
  if (Cause.hasInterrupts(cause)) return { outcome: "shutdown", code: grpc.status.UNAVAILABLE, details: "meshsight is shutting down" }
  return { outcome: "internal", code: grpc.status.INTERNAL, details: "meshsight could not process the stream", reason: "internal" }
}
