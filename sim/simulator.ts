// The live simulator: every simulated proxy holds its own ALS v3 stream to meshsight, as Envoy does, and sends
// its batched entries as the simulated requests happen. A stream that breaks is reopened with the identifier
// again (what Envoy does; the entries in flight are lost, as with Envoy).
import * as grpc from "@grpc/grpc-js"
import { accessLogService } from "../src/ingest/service-definitions.ts"
import { makeBatcher } from "./messages.ts"
import { seededRandom } from "./random.ts"
import { bookinfo, type SimPod, type Topology } from "./topology.ts"
import { makeTraffic } from "./traffic.ts"

export interface SimulatorOptions {
  /** meshsight's ALS address, `host:port`. */
  readonly target: string
  /** User requests per second entering at the gateway (each makes several calls). */
  readonly rate: number
  /** Stop after this many seconds (default: run until `stop`). */
  readonly durationS?: number
  readonly seed?: number
  /** Entries per message before a batch is sent early (Envoy's buffer_size_bytes, in entries). */
  readonly entriesPerMessage?: number
  /** Envoy's buffer_flush_interval (default 1 s). */
  readonly flushIntervalMs?: number
  readonly topology?: Topology
}

export interface SimulatorProgress {
  readonly requests: number
  readonly entries: number
  readonly messages: number
  /** Streams that ended with an error and were reopened. */
  readonly reconnects: number
  readonly elapsedMs: number
}

const TICK_MS = 50

export const startSimulator = (options: SimulatorOptions) => {
  const topology = options.topology ?? bookinfo()
  const traffic = makeTraffic(topology, seededRandom(options.seed ?? 1))
  const Client = grpc.makeGenericClientConstructor(accessLogService("v3"), "AccessLogService")
  const client = new Client(options.target, grpc.credentials.createInsecure())
  const streams = new Map<SimPod, grpc.ClientWritableStream<Buffer>>()
  const progress = { requests: 0, entries: 0, messages: 0, reconnects: 0 }
  const startedAt = Date.now()

  const open = (pod: SimPod) => {
    const call = (client as unknown as {
      StreamAccessLogs: (cb: (err: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<Buffer>
    }).StreamAccessLogs((err) => {
      if (streams.get(pod) !== call) return
      streams.delete(pod)
      if (err && !stopped) {
        progress.reconnects++
        batcher.forget(pod)
      }
    })
    streams.set(pod, call)
    return call
  }

  const batcher = makeBatcher(options.entriesPerMessage ?? 50, (pod, message, entries) => {
    const call = streams.get(pod) ?? open(pod)
    call.write(Buffer.from(message.buffer, message.byteOffset, message.byteLength))
    progress.messages++
    progress.entries += entries
  })

  let stopped = false
  let owed = 0
  const tick = setInterval(() => {
    owed += (options.rate * TICK_MS) / 1000
    const now = Date.now()
    for (; owed >= 1; owed--) {
      traffic.request(now, batcher.add)
      progress.requests++
    }
  }, TICK_MS)
  const flush = setInterval(() => batcher.flush(), options.flushIntervalMs ?? 1000)

  let finish: (p: SimulatorProgress) => void = () => {}
  const done = new Promise<SimulatorProgress>((resolve) => (finish = resolve))
  const snapshot = (): SimulatorProgress => ({ ...progress, elapsedMs: Date.now() - startedAt })

  const stop = async (): Promise<SimulatorProgress> => {
    if (!stopped) {
      stopped = true
      clearInterval(tick)
      clearInterval(flush)
      clearTimeout(deadline)
      batcher.flush()
      // Half-close every stream and wait for meshsight's answers, so that nothing sent is cut off.
      await Promise.all([...streams.values()].map((call) =>
        new Promise<void>((resolve) => {
          call.once("status", () => resolve())
          call.end()
        })
      ))
      client.close()
      finish(snapshot())
    }
    return done
  }
  const deadline = options.durationS === undefined ? undefined : setTimeout(() => void stop(), options.durationS * 1000)

  return { progress: snapshot, stop, done }
}
