// Bad input against a real meshsight process: each bad stream ends with a gRPC error status and a counted,
// logged reason, while a healthy stream on the same server keeps flowing and the process stays up.
import * as grpc from "@grpc/grpc-js"
import { connect, constants } from "node:http2"
import protobuf from "protobufjs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { officialRoot, encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, inboundHttpEntry, type Workload } from "../../sim/istio-entries.ts"
import { openAlsStream, sendAlsMessages } from "../support/als-client.ts"
import { fixtureBytes } from "../support/fixtures.ts"
import { getJson } from "../support/http-json.ts"
import { type MeshsightProcess, metricValue, spawnMeshsight } from "../../testkit/meshsight-process.ts"

const client: Workload = { name: "web-0", namespace: "shop", ip: "10.2.0.1", labels: { app: "web" }, workloadName: "web" }
const server: Workload = { name: "cart-0", namespace: "shop", ip: "10.2.0.2", labels: { app: "cart" }, workloadName: "cart" }
const peers = { client, server, port: 8080, host: "cart.shop.svc.cluster.local" }
const entry = () => inboundHttpEntry({ startMs: Date.now(), durationMs: 7 }, peers)
const message = (withNode: boolean) => encodeAlsMessageJson(alsMessageJson({ http: [entry()] }, withNode ? { workload: server } : undefined))

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
  const bad = protobuf.Writer.create().uint32((1 << 3) | 2).fork().uint32((5 << 3) | 0).uint64(1700000000).ldelim().finish()
  const entries = protobuf.Writer.create()
  for (const e of [good, bad, good]) entries.uint32((1 << 3) | 2).bytes(e)
  return protobuf.Writer.create()
    .uint32((1 << 3) | 2).bytes(identifierBytes())
    .uint32((2 << 3) | 2).bytes(entries.finish())
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

beforeAll(async () => {
  app = await spawnMeshsight({ MESHSIGHT_GRPC_MAX_MESSAGE_BYTES: "65536", MESHSIGHT_FLUSH_INTERVAL_MS: "100" })
})
afterAll(async () => {
  await app?.stop()
})

const metrics = async () => (await fetch(`${app.url}/metrics`)).text()

describe("bad input", () => {
  it("ends only the bad streams, each with a status and a counted, logged reason", async () => {
    const healthy = openAlsStream(app.grpcPort)
    await healthy.write(message(true))

    const garbage = await sendAlsMessages(app.grpcPort, [new Uint8Array([0xff, 0xff, 0xff, 0xff])])
    expect(garbage.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(garbage.details).toMatch(/message 1 is not a StreamAccessLogsMessage/)

    const whole = fixtureBytes("envoy-ingress")
    const truncated = await sendAlsMessages(app.grpcPort, [whole.subarray(0, Math.floor(whole.length / 2))])
    expect(truncated.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(truncated.details).toMatch(/runs past the end|truncated/)

    const laterGarbage = await sendAlsMessages(app.grpcPort, [message(true), new Uint8Array([0x0a, 0x05, 0x01])])
    expect(laterGarbage).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/^message 2 /) })

    const noIdentifier = await sendAlsMessages(app.grpcPort, [message(false)])
    expect(noIdentifier.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(noIdentifier.details).toMatch(/first message of a stream must carry the identifier/)

    const empty = await sendAlsMessages(app.grpcPort, [])
    expect(empty.code).toBe(grpc.status.INVALID_ARGUMENT)

    const oversized = await sendAlsMessages(app.grpcPort, [new Uint8Array(100_000)])
    expect(oversized.code).toBe(grpc.status.RESOURCE_EXHAUSTED)

    await cutMidMessage(app.grpcPort)

    // A mistyped entry is skipped and counted; the rest of its message and stream go on.
    const mistyped = await sendAlsMessages(app.grpcPort, [messageWithMistypedEntry()])
    expect(mistyped.code).toBe(grpc.status.OK)

    await healthy.write(message(false))
    expect(await healthy.end()).toEqual({ code: grpc.status.OK, details: "" })
    healthy.close()

    await new Promise((r) => setTimeout(r, 300))
    const text = await metrics()
    expect(metricValue(text, 'meshsight_als_stream_errors_total{reason="malformed_message"}')).toBe(3)
    expect(metricValue(text, 'meshsight_als_stream_errors_total{reason="missing_identifier"}')).toBe(1)
    expect(metricValue(text, 'meshsight_als_stream_errors_total{reason="empty_stream"}')).toBe(1)
    // the oversized message (grpc-js answers it and cancels the call) and the stream cut mid-message
    expect(metricValue(text, 'meshsight_als_stream_errors_total{reason="broken"}')).toBe(2)
    expect(metricValue(text, "meshsight_als_message_decode_failures_total")).toBe(3)
    expect(metricValue(text, "meshsight_als_entry_decode_failures_total")).toBe(1)

    const log = app.output()
    expect(log).toMatch(/rejected \(malformed_message\): message 1 is not a StreamAccessLogsMessage/)
    expect(log).toMatch(/rejected \(missing_identifier\)/)
    expect(log).toMatch(/broke off: the client reset the stream/)
    expect(log).toMatch(/MESHSIGHT_GRPC_MAX_MESSAGE_BYTES=65536/)
    expect(log).toMatch(/skipping undecodable entries .*AccessLogCommon.start_time/)

    // The healthy stream's two calls, the mistyped message's two good entries and the later-garbage stream's
    // first message all counted: 5 server-side calls to cart.
    const services = (await getJson(app.url, "/api/services")).body.services
    expect(services.find((s: { name: string }) => s.name === "cart.shop")?.metrics?.calls).toBe(5)
    expect(app.child.exitCode).toBeNull()
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200)
  })
})
