// Bad input against a real meshsight process: each bad stream ends with a gRPC error status and a counted,
// logged reason, while a healthy stream on the same server keeps flowing and the process stays up.
import * as grpc from "@grpc/grpc-js"
import { connect, constants } from "node:http2"
import protobuf from "protobufjs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { officialRoot, encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, inboundHttpEntry, type Workload } from "../../sim/istio-entries.ts"
import { type AlsStream, openAlsStream, sendAlsMessages } from "../support/als-client.ts"
import { fixtureBytes } from "../support/fixtures.ts"
import { getJson } from "../support/http-json.ts"
import { type MeshsightProcess, metricValue, spawnMeshsight } from "../../testkit/meshsight-process.ts"
import { waitFor } from "../support/wait-for.ts"

const client: Workload = { name: "web-0", namespace: "shop", ip: "10.2.0.1", labels: { app: "web" }, workloadName: "web" }
const server: Workload = { name: "cart-0", namespace: "shop", ip: "10.2.0.2", labels: { app: "cart" }, workloadName: "cart" }
const peers = { client, server, port: 8080, host: "cart.shop.svc.cluster.local" }
const entry = () => inboundHttpEntry({ startMs: Date.now(), durationMs: 7 }, peers)
const message = (withNode: boolean) =>
  encodeAlsMessageJson(alsMessageJson({ http: [entry()] }, withNode ? { workload: server } : undefined))

const Message = officialRoot.lookupType("envoy.service.accesslog.v3.StreamAccessLogsMessage")
const Identifier = officialRoot.lookupType("envoy.service.accesslog.v3.StreamAccessLogsMessage.Identifier")
const HttpEntry = officialRoot.lookupType("envoy.data.accesslog.v3.HTTPAccessLogEntry")

/** One HTTPAccessLogEntry as Envoy encodes it. */
const encodeEntry = () => {
  const decoded = Message.decode(encodeAlsMessageJson(alsMessageJson({ http: [entry()] }))) as unknown as {
    httpLogs: { logEntry: Array<protobuf.Message> }
  }
  return HttpEntry.encode(decoded.httpLogs.logEntry[0]).finish()
}

/** The identifier of a full message, encoded on its own. */
const identifierBytes = () => {
  const full = Message.decode(message(true)) as unknown as { identifier: protobuf.Message }
  return Identifier.encode(full.identifier).finish()
}

/** A message whose middle entry sends `start_time` (a Timestamp message) as a varint. */
const messageWithMistypedEntry = () => {
  const good = encodeEntry()
  const bad = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .fork()
    .uint32((5 << 3) | 0)
    .uint64(1700000000)
    .ldelim()
    .finish()
  const entries = protobuf.Writer.create()
  for (const e of [good, bad, good]) entries.uint32((1 << 3) | 2).bytes(e)
  return protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .bytes(identifierBytes())
    .uint32((2 << 3) | 2)
    .bytes(entries.finish())
    .finish()
}

/** A raw HTTP/2 gRPC request that announces a 1000-byte message, sends 10 bytes of it and resets the stream. */
const cutMidMessage = (port: number) =>
  new Promise<void>((resolve) => {
    const session = connect(`http://127.0.0.1:${port}`)
    const req = session.request({
      ":method": "POST",
      ":path": "/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs",
      "content-type": "application/grpc",
      te: "trailers"
    })
    req.on("error", () => {})
    const frame = Buffer.alloc(15)
    frame.writeUInt8(0, 0) // not compressed
    frame.writeUInt32BE(1000, 1) // announced length
    req.write(frame, () => {
      setTimeout(() => {
        req.close(constants.NGHTTP2_CANCEL)
        session.close()
        resolve()
      }, 100)
    })
  })

let app: MeshsightProcess
let healthy: AlsStream

const metrics = async () => (await fetch(`${app.url}/metrics`)).text()
const cartCalls = async (): Promise<number> =>
  (await getJson(app.url, "/api/services")).body.services.find((s: { name: string }) => s.name === "cart.shop")?.metrics?.calls ?? 0

const streamErrors = (reason: string) => `meshsight_als_stream_errors_total{reason="${reason}"}`
const MESSAGE_FAILURES = "meshsight_als_message_decode_failures_total"
const ENTRY_FAILURES = "meshsight_als_entry_decode_failures_total"
const ALL_COUNTERS = [
  streamErrors("malformed_message"),
  streamErrors("missing_identifier"),
  streamErrors("empty_stream"),
  streamErrors("broken"),
  MESSAGE_FAILURES,
  ENTRY_FAILURES
]

/**
 * Runs one bad stream and checks that exactly the given counters (and calls to cart) rose by the given amounts,
 * waiting for the flush rather than a fixed time.
 */
const expectCounted = async <A>(send: () => Promise<A>, rises: Partial<Record<string, number>>, calls = 0): Promise<A> => {
  const before = await metrics()
  const callsBefore = await cartCalls()
  const result = await send()
  const risen = (text: string) => ALL_COUNTERS.every((c) => metricValue(text, c) - metricValue(before, c) >= (rises[c] ?? 0))
  const after = await waitFor(`counters to rise by ${JSON.stringify(rises)}`, metrics, risen)
  for (const c of ALL_COUNTERS) expect(metricValue(after, c) - metricValue(before, c), c).toBe(rises[c] ?? 0)
  expect(await waitFor(`${calls} more calls to cart`, cartCalls, (n) => n >= callsBefore + calls)).toBe(callsBefore + calls)
  return result
}

const expectLogged = (pattern: RegExp) =>
  waitFor(
    `a log line matching ${pattern}`,
    () => app.output(),
    (log) => pattern.test(log)
  )

beforeAll(async () => {
  app = await spawnMeshsight({ MESHSIGHT_GRPC_MAX_MESSAGE_BYTES: "65536", MESHSIGHT_FLUSH_INTERVAL_MS: "100" })
  // A healthy stream stays open across all the bad ones below.
  healthy = openAlsStream(app.grpcPort)
  await healthy.write(message(true))
  await waitFor("the healthy stream's first call", cartCalls, (n) => n === 1)
})
afterAll(async () => {
  healthy?.close()
  await app?.stop()
})

describe("bad input ends only the bad stream, with a status and a counted, logged reason", () => {
  it("garbage bytes: INVALID_ARGUMENT, malformed_message", async () => {
    const garbage = await expectCounted(() => sendAlsMessages(app.grpcPort, [new Uint8Array([0xff, 0xff, 0xff, 0xff])]), {
      [streamErrors("malformed_message")]: 1,
      [MESSAGE_FAILURES]: 1
    })
    expect(garbage.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(garbage.details).toMatch(/message 1 is not a StreamAccessLogsMessage/)
    await expectLogged(/rejected \(malformed_message\): message 1 is not a StreamAccessLogsMessage/)
  })

  it("a message truncated to half: INVALID_ARGUMENT, malformed_message", async () => {
    const whole = fixtureBytes("envoy-ingress")
    const truncated = await expectCounted(() => sendAlsMessages(app.grpcPort, [whole.subarray(0, Math.floor(whole.length / 2))]), {
      [streamErrors("malformed_message")]: 1,
      [MESSAGE_FAILURES]: 1
    })
    expect(truncated.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(truncated.details).toMatch(/runs past the end|truncated/)
  })

  it("garbage after a good message: the good one counts, the error names message 2", async () => {
    const laterGarbage = await expectCounted(
      () => sendAlsMessages(app.grpcPort, [message(true), new Uint8Array([0x0a, 0x05, 0x01])]),
      { [streamErrors("malformed_message")]: 1, [MESSAGE_FAILURES]: 1 },
      1
    )
    expect(laterGarbage).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/^message 2 /) })
  })

  it("a first message without the identifier: INVALID_ARGUMENT, missing_identifier", async () => {
    const noIdentifier = await expectCounted(() => sendAlsMessages(app.grpcPort, [message(false)]), {
      [streamErrors("missing_identifier")]: 1
    })
    expect(noIdentifier.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(noIdentifier.details).toMatch(/first message of a stream must carry the identifier/)
    await expectLogged(/rejected \(missing_identifier\)/)
  })

  it("a stream with no message: INVALID_ARGUMENT, empty_stream", async () => {
    const empty = await expectCounted(() => sendAlsMessages(app.grpcPort, []), { [streamErrors("empty_stream")]: 1 })
    expect(empty.code).toBe(grpc.status.INVALID_ARGUMENT)
  })

  it("a message over MESHSIGHT_GRPC_MAX_MESSAGE_BYTES: RESOURCE_EXHAUSTED, broken, the setting named in the log", async () => {
    // grpc-js answers the oversized message itself and cancels the call, which meshsight sees as a broken stream.
    const oversized = await expectCounted(() => sendAlsMessages(app.grpcPort, [new Uint8Array(100_000)]), { [streamErrors("broken")]: 1 })
    expect(oversized.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
    await expectLogged(/MESHSIGHT_GRPC_MAX_MESSAGE_BYTES=65536/)
  })

  it("a stream reset in the middle of a message: broken, logged as the client's reset", async () => {
    await expectCounted(() => cutMidMessage(app.grpcPort), { [streamErrors("broken")]: 1 })
    await expectLogged(/broke off: the client reset the stream/)
  })

  it("a mistyped entry is skipped and counted; the rest of its message and stream go on", async () => {
    const mistyped = await expectCounted(() => sendAlsMessages(app.grpcPort, [messageWithMistypedEntry()]), { [ENTRY_FAILURES]: 1 }, 2)
    expect(mistyped.code).toBe(grpc.status.OK)
    await expectLogged(/skipping undecodable entries .*AccessLogCommon.start_time/)
  })

  it("the healthy stream opened before all of them still flows and ends OK; the process stays up", async () => {
    await expectCounted(
      async () => {
        await healthy.write(message(false))
        expect(await healthy.end()).toEqual({ code: grpc.status.OK, details: "" })
      },
      {},
      1
    )
    expect(app.child.exitCode).toBeNull()
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200)
  })
})
