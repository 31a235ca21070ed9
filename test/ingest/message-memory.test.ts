// A received message's memory is given back once the message is handled: framed by grpc-js's own decoder, as the
// server receives it, released by its message source after the pipeline's work, and never when it may share memory.
import { StreamDecoder } from "@grpc/grpc-js/build/src/stream-decoder.js"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { AccessLog, AlsMessage } from "../../src/domain/access-log.ts"
import { releaseMessage } from "../../src/ingest/message-memory.ts"
import { unlimitedBudget } from "../../src/memory/budget.ts"
import { streamRunner } from "../../src/pipeline/stream-runner.ts"
import { decodeAlsMessage } from "../../src/protocol/als-codec.ts"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, outboundHttpEntry, type Workload } from "../../sim/istio-entries.ts"
import { messagesOf } from "../support/message-sources.ts"

const client: Workload = { name: "a-0", namespace: "default", ip: "10.0.0.1", labels: { app: "a" }, workloadName: "a" }
const server: Workload = { ...client, name: "b-0", ip: "10.0.0.2", labels: { app: "b" }, workloadName: "b" }
const call = { startMs: Date.UTC(2026, 0, 1), durationMs: 3 }
const ENTRIES = 200
const encoded = encodeAlsMessageJson(
  alsMessageJson(
    { http: Array.from({ length: ENTRIES }, () => outboundHttpEntry(call, { client, server, port: 80, host: "b" })) },
    { workload: client }
  )
)

/** The message as grpc-js's server hands it over: its decoder joins the frames, the server skips the 5-byte header. */
const received = (message: Uint8Array): Buffer => {
  const framed = Buffer.alloc(5 + message.length)
  framed.writeUInt32BE(message.length, 1)
  framed.set(message, 5)
  const decoder = new StreamDecoder(-1)
  // In HTTP/2 frames of at most 16 KiB, as they arrive.
  const out: Array<Buffer> = []
  for (let at = 0; at < framed.length; at += 16 * 1024) out.push(...decoder.write(framed.subarray(at, at + 16 * 1024)))
  expect(out).toHaveLength(1)
  return out[0].subarray(5)
}

describe("message memory", () => {
  it("frees a message that grpc-js framed into memory of its own", () => {
    const bytes = received(encoded)
    // Past the sizes Buffer.concat serves from Node's shared pool (below half of Buffer.poolSize).
    expect(encoded.length).toBeGreaterThan(Buffer.poolSize)
    expect(Buffer.from(bytes).equals(Buffer.from(encoded))).toBe(true)
    expect(releaseMessage(bytes)).toBe(true)
    expect(bytes.length).toBe(0)
    expect((bytes.buffer as ArrayBuffer).detached).toBe(true)
    expect(releaseMessage(bytes)).toBe(false)
  })

  it("leaves alone memory it cannot prove is the message's own", () => {
    // Smaller messages share Node's Buffer pool with other Buffers.
    const pooled = received(encoded.subarray(0, 1000))
    const wider = new Uint8Array(new ArrayBuffer(5 + 100 + 1), 5, 100)
    const unframed = new Uint8Array(100)
    const shared = new Uint8Array(new SharedArrayBuffer(105), 5, 100)
    for (const bytes of [pooled, wider, unframed, shared]) {
      const length = bytes.length
      expect(releaseMessage(bytes)).toBe(false)
      expect(bytes.length).toBe(length)
    }
    expect(Buffer.from(pooled).equals(Buffer.from(encoded.subarray(0, 1000)))).toBe(true)
  })

  it.effect("each message is freed after the pipeline's work, which saw it whole", () =>
    Effect.gen(function* () {
      const messages = Array.from({ length: 3 }, () => received(encoded))
      let entries = 0
      let peerBytes = 0
      const runner = streamRunner<AlsMessage, true, { messages: number; warnings: Array<string> }>({
        messageName: "StreamAccessLogsMessage",
        identifierHolds: "node",
        decode: decodeAlsMessage,
        identifierOf: (m) => m.identifier,
        open: () => true,
        newTally: () => ({ messages: 0, warnings: [] }),
        handle: (_, message) => {
          entries += message.entries.length
          // Byte fields are views of the message: still there while its work runs.
          for (const e of message.entries as ReadonlyArray<AccessLog>) for (const f of e.common.filterState) peerBytes += f.value.length
          return message.entries.length
        },
        report: () => {},
        budget: unlimitedBudget()
      })
      const summary = yield* runner.run(messagesOf(messages), "test")
      expect(summary.entries).toBe(3 * ENTRIES)
      expect(entries).toBe(3 * ENTRIES)
      expect(peerBytes).toBeGreaterThan(0)
      for (const bytes of messages) expect(bytes.length).toBe(0)
    })
  )
})
