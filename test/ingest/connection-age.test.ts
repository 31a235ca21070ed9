// MESHSIGHT_GRPC_MAX_CONNECTION_AGE_MS: meshsight tells each connection to go (GOAWAY) after its age and closes it
// a grace later, so long-lived ALS streams reconnect, through the Kubernetes Service, to any replica. The clients
// here reach meshsight through a TCP relay that counts connections, as a Service's load balancer would see them.
import * as grpc from "@grpc/grpc-js"
import * as net from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, inboundHttpEntry, type Workload } from "../../sim/istio-entries.ts"
import { metricValue } from "../../testkit/meshsight-process.ts"
import { type AlsStream, openAlsStream } from "../support/als-client.ts"
import { startMeshsightAsync } from "../support/meshsight.ts"
import { waitFor } from "../support/wait-for.ts"

const web: Workload = { name: "web-0", namespace: "shop", ip: "10.2.0.1", labels: { app: "web" }, workloadName: "web" }
const cart: Workload = { name: "cart-0", namespace: "shop", ip: "10.2.0.2", labels: { app: "cart" }, workloadName: "cart" }
const ENTRIES_PER_MESSAGE = 4

/** One ALS message of ENTRIES_PER_MESSAGE calls web → cart; the identifier only on a stream's first message, as Envoy. */
const message = (first: boolean) => {
  const entry = inboundHttpEntry({ startMs: Date.now(), durationMs: 3 }, { client: web, server: cart, port: 80, host: "cart" })
  const entries = Array.from({ length: ENTRIES_PER_MESSAGE }, () => entry)
  return encodeAlsMessageJson(alsMessageJson({ http: entries }, first ? { workload: cart } : undefined))
}

/** A TCP relay to `port` that counts the connections made through it. */
const startRelay = async (port: number) => {
  let connections = 0
  const sockets = new Set<net.Socket>()
  const relay = net.createServer((downstream) => {
    connections++
    const upstream = net.connect(port, "127.0.0.1")
    for (const [from, to] of [
      [downstream, upstream],
      [upstream, downstream]
    ] as const) {
      sockets.add(from)
      from.pipe(to)
      from.on("error", () => to.destroy())
      from.on("close", () => {
        sockets.delete(from)
        to.destroy()
      })
    }
  })
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve))
  return {
    port: (relay.address() as net.AddressInfo).port,
    connections: () => connections,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        relay.close(() => resolve())
      })
  }
}

const running: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const stop of running.splice(0).reverse()) await stop()
})

const start = async (ageMs: number, graceMs: number) => {
  const app = await startMeshsightAsync({
    config: { MESHSIGHT_GRPC_MAX_CONNECTION_AGE_MS: String(ageMs), MESHSIGHT_GRPC_MAX_CONNECTION_AGE_GRACE_MS: String(graceMs) }
  })
  running.push(app.stop)
  const relay = await startRelay(app.alsPort)
  running.push(relay.stop)
  const counters = async () => {
    const text = await (await fetch(`${app.url}/metrics`)).text()
    return {
      entries: metricValue(text, 'meshsight_als_entries_total{kind="http"}'),
      streams: metricValue(text, "meshsight_als_streams_total"),
      broken: metricValue(text, 'meshsight_als_stream_errors_total{reason="broken"}'),
      aged: metricValue(text, 'meshsight_als_stream_errors_total{reason="connection_age"}'),
      active: metricValue(text, "meshsight_als_streams_active")
    }
  }
  return { relay, counters }
}

/** Writes messages on `stream` until `stop` resolves, a turn of the event loop apart; returns how many. */
const writeUntil = async (stream: AlsStream, stop: Promise<unknown>) => {
  let stopped = false
  void stop.then(() => (stopped = true))
  let written = 0
  while (!stopped) {
    await stream.write(message(written === 0))
    written++
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  return written
}

describe("max connection age", () => {
  it("recycles the connection under a client that ends its stream on GOAWAY: every entry counted once", async () => {
    const { relay, counters } = await start(300, 5_000)
    const before = await counters()
    // Like a gRPC client that honours GOAWAY: once its connection is told to go it half-closes the stream (its
    // messages already written still arrive: the grace keeps the connection open), waits for the answer, and
    // goes on with a new stream — which grpc-js must put on a new connection.
    let sent = 0
    let streams = 0
    while (relay.connections() < 4) {
      const stream = openAlsStream(relay.port)
      streams++
      sent += (await writeUntil(stream, stream.connectionLeft)) * ENTRIES_PER_MESSAGE
      expect(await stream.end()).toEqual({ code: grpc.status.OK, details: "" })
      stream.close()
    }
    expect(sent).toBeGreaterThan(0)
    const after = await waitFor("the server to count every entry sent", counters, (c) => c.entries - before.entries >= sent)
    expect(after.entries - before.entries).toBe(sent)
    expect(after.streams - before.streams).toBe(streams)
    expect(after.broken - before.broken).toBe(0)
    expect(after.aged - before.aged).toBe(0)
    expect(relay.connections()).toBe(streams)
  })

  it("cuts a stream that ignores GOAWAY once the grace is over, as Envoy's ALS stream is; the next stream gets a new connection", async () => {
    const ageMs = 300
    const graceMs = 300
    const { relay, counters } = await start(ageMs, graceMs)
    const before = await counters()
    // Envoy does not end its ALS stream on GOAWAY (envoyproxy/envoy#2795): it writes until the stream breaks.
    const opened = Date.now()
    const stream = openAlsStream(relay.port)
    const written = await writeUntil(stream, stream.status)
    const status = await stream.status
    const lived = Date.now() - opened
    stream.close()
    expect(status.code).toBe(grpc.status.UNAVAILABLE)
    // grpc-js jitters the age by at most 10%; the connection opened after `opened` (a few ms for timers' rounding).
    expect(lived).toBeGreaterThanOrEqual(ageMs * 0.9 + graceMs - 5)
    // Routine, not a broken stream: counted under its own reason (and logged at Debug, not as a warning).
    await waitFor("the server to close the cut stream", counters, (c) => c.active === before.active && c.aged - before.aged === 1)
    const cut = await counters()
    // What was still on the wire when the connection closed is lost; nothing arrives twice.
    expect(cut.entries - before.entries).toBeLessThanOrEqual(written * ENTRIES_PER_MESSAGE)
    expect(cut.entries - before.entries).toBeGreaterThan(0)

    // Envoy's next flush opens a new stream, on a new connection.
    const next = openAlsStream(relay.port)
    await next.write(message(true))
    expect(await next.end()).toEqual({ code: grpc.status.OK, details: "" })
    next.close()
    expect(relay.connections()).toBe(2)
    const after = await waitFor("the next stream's entries", counters, (c) => c.entries - cut.entries >= ENTRIES_PER_MESSAGE)
    expect(after.entries - cut.entries).toBe(ENTRIES_PER_MESSAGE)
    expect(after.broken - before.broken).toBe(0)
  })

  it("keeps connections when the age is 0", async () => {
    const { relay, counters } = await start(0, 0)
    const before = await counters()
    const stream = openAlsStream(relay.port)
    const written = await writeUntil(stream, new Promise((resolve) => setTimeout(resolve, 1_000)))
    expect(await stream.end()).toEqual({ code: grpc.status.OK, details: "" })
    stream.close()
    expect(relay.connections()).toBe(1)
    const after = await counters()
    expect(after.entries - before.entries).toBe(written * ENTRIES_PER_MESSAGE)
  })
})
