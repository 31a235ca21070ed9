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
