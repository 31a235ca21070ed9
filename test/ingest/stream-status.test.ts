// The status each way a client stream can end badly is answered with, and the reason it is counted under.
import * as grpc from "@grpc/grpc-js"
import { Cause } from "effect"
import { describe, expect, it } from "vitest"
import { StreamBroken, StreamRefused, StreamRejected } from "../../src/ingest/stream-errors.ts"
import { streamStatus } from "../../src/ingest/stream-status.ts"

const rejected = (reason: StreamRejected["reason"]) => Cause.fail(new StreamRejected({ reason, detail: `detail of ${reason}` }))
const refused = (reason: StreamRefused["reason"]) => Cause.fail(new StreamRefused({ reason, detail: `detail of ${reason}` }))

describe("streamStatus", () => {
  it.each([
    [
      "malformed message",
      rejected("malformed_message"),
      "rejected",
      grpc.status.INVALID_ARGUMENT,
      "detail of malformed_message",
      "malformed_message"
    ],
    [
      "missing identifier",
      rejected("missing_identifier"),
      "rejected",
      grpc.status.INVALID_ARGUMENT,
      "detail of missing_identifier",
      "missing_identifier"
    ],
    ["empty stream", rejected("empty_stream"), "rejected", grpc.status.INVALID_ARGUMENT, "detail of empty_stream", "empty_stream"],
    [
      "identifier too large",
      refused("identifier_too_large"),
      "refused",
      grpc.status.RESOURCE_EXHAUSTED,
      "detail of identifier_too_large",
      "identifier_too_large"
    ],
    ["memory short", refused("memory"), "refused", grpc.status.RESOURCE_EXHAUSTED, "detail of memory", "memory"],
    ["broken transport", Cause.fail(new StreamBroken({ detail: "reset" })), "broken", grpc.status.CANCELLED, "reset", "broken"],
    ["a defect", Cause.die(new Error("bug")), "internal", grpc.status.INTERNAL, "meshsight could not process the stream", "internal"],
    // A failure that raced the shutdown is still the client's to hear about.
    [
      "rejected while shutting down",
      Cause.combine(rejected("empty_stream"), Cause.interrupt()),
      "rejected",
      grpc.status.INVALID_ARGUMENT,
      "detail of empty_stream",
      "empty_stream"
    ]
  ] as const)("%s", (_, cause, outcome, code, details, reason) => {
    expect(streamStatus(cause)).toEqual({ outcome, code, details, reason })
  })

  it("a shutdown is UNAVAILABLE and counts as no failure", () => {
    expect(streamStatus(Cause.interrupt())).toEqual({
      outcome: "shutdown",
      code: grpc.status.UNAVAILABLE,
      details: "meshsight is shutting down"
    })
  })

  it("accepts only the known rejection and refusal reasons", () => {
    // @ts-expect-error: not a RejectionReason
    expect(() => new StreamRejected({ reason: "whatever", detail: "" })).toThrow()
    // @ts-expect-error: not a RefusalReason
    expect(() => new StreamRefused({ reason: "whatever", detail: "" })).toThrow()
  })
})
