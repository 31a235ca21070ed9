// How a client stream (ALS, MetricsService) can end badly.
import { Schema } from "effect"

/** Why a stream was rejected; the label of the streams-failed counter. */
export const RejectionReason = Schema.Literals(["malformed_message", "missing_identifier", "empty_stream"])
export type RejectionReason = typeof RejectionReason.Type

/** The client sent something meshsight cannot read: the stream ends with INVALID_ARGUMENT. */
export class StreamRejected extends Schema.TaggedError<StreamRejected>()("StreamRejected", {
  reason: RejectionReason,
  detail: Schema.String
}) {}

/** The transport ended the stream under us: the client went away or reset it. */
export class StreamBroken extends Schema.TaggedError<StreamBroken>()("StreamBroken", {
  detail: Schema.String
}) {}
