// How an ALS stream can end badly. Each carries the gRPC status the stream is answered with.
import { Schema } from "effect"

/** The client sent something meshsight cannot read: the stream ends with INVALID_ARGUMENT. */
export class StreamRejected extends Schema.TaggedError<StreamRejected>()("StreamRejected", {
  /** A short label for the error counter: malformed_message, missing_identifier, empty_stream. */
  reason: Schema.String,
  detail: Schema.String
}) {}

/** The transport ended the stream under us: the client went away or reset it. */
export class StreamBroken extends Schema.TaggedError<StreamBroken>()("StreamBroken", {
  detail: Schema.String
}) {}

/** meshsight will not take the stream on (its identifier is too large, or memory is short): RESOURCE_EXHAUSTED. */
export class StreamRefused extends Schema.TaggedError<StreamRefused>()("StreamRefused", {
  /** A short label for the error counter: identifier_too_large, memory. */
  reason: Schema.String,
  detail: Schema.String
}) {}
