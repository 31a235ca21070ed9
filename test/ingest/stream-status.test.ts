// The status each way a stream can end badly is answered with, and the reason it is counted under.
import * as grpc from "@grpc/grpc-js"
import { Cause } from "effect"
import { describe, expect, it } from "vitest"
import { StreamBroken, StreamRejected } from "../../src/ingest/stream-errors.ts"
import { streamStatus } from "../../src/ingest/stream-status.ts"

const rejected = (reason: StreamRejected["reason"]) => Cause.fail(new StreamRejected({ reason, detail: `detail of ${reason}` }))

describe("streamStatus", () => {
  it.each([
    ["malformed message", rejected("malformed_message"), grpc.status.INVALID_ARGUMENT, "detail of malformed_message", "malformed_message"],
    ["missing identifier", rejected("missing_identifier"), grpc.status.INVALID_ARGUMENT, "detail of missing_identifier", "missing_identifier"],
    ["empty stream", rejected("empty_stream"), grpc.status.INVALID_ARGUMENT, "detail of empty_stream", "empty_stream"],
    ["broken transport", Cause.fail(new StreamBroken({ detail: "reset" })), grpc.status.CANCELLED, "reset", "broken"],
    ["a defect", Cause.die(new Error("bug")), grpc.status.INTERNAL, "meshsight could not process the stream", "internal"],
    ["shutdown", Cause.interrupt(), grpc.status.UNAVAILABLE, "meshsight is shutting down", undefined],
    // A failure that raced the shutdown is still the client's to hear about.
    ["rejected while shutting down", Cause.combine(rejected("empty_stream"), Cause.interrupt()), grpc.status.INVALID_ARGUMENT, "detail of empty_stream", "empty_stream"]
  ] as const)("%s → %s", (_, cause, code, details, reason) => {
    expect(streamStatus(cause)).toEqual({ code, details, reason })
  })

  it("accepts only the known rejection reasons", () => {
    // @ts-expect-error: not a RejectionReason
    expect(() => new StreamRejected({ reason: "whatever", detail: "" })).toThrow()
  })
})
