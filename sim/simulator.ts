// The live simulator: every simulated proxy holds its own ALS v3 stream to meshsight, as Envoy does, and sends
// its batched entries as the simulated requests happen; and its own MetricsService v3 stream, with its stats every
// stats flush interval (./proxy-stats.ts). A stream that breaks is reopened with the identifier again (what Envoy
// does; what was in flight is lost, as with Envoy).
import type * as grpc from "@grpc/grpc-js"
import { type AlsClient, makeAlsClient, makeMetricsClient, type MetricsClient } from "../src/ingest/service-definitions.ts"
import type { PeerFormat } from "./istio-entries.ts"
import { makeBatcher } from "./messages.ts"
import { encodeMetricsMessage, makeProxyStats } from "./proxy-stats.ts"
import { seededRandom } from "./random.ts"
import { bookinfo, type SimPod, type Topology } from "./topology.ts"
import { makeTraffic } from "./traffic.ts"

export interface SimulatorOptions {
  /** meshsight's ALS address, `host:port`. */
  readonly target: string
  /** User requests per second entering at the gateway (each makes several calls in the mesh). */
  readonly rate: number
  /** Stop after this many seconds (default: run until `stop`). */
  readonly durationS?: number
  readonly seed?: number
  /** Entries per message before a batch is sent early (Envoy's buffer_size_bytes, in entries; default 50). */
  readonly entriesPerMessage?: number
  /** Envoy's buffer_flush_interval (default 1 s). */
  readonly flushIntervalMs?: number
  readonly topology?: Topology
  /** One peer format for every proxy; default: each proxy's own (a mesh mid-upgrade, see ./topology.ts). */
  readonly peerFormat?: PeerFormat
  /** Envoy's stats_flush_interval: how often each proxy sends its MetricsService message (default 5 s; 0: none). */
  readonly statsFlushIntervalMs?: number
}

export interface SimulatorProgress {
  /** User requests at the gateway. */
  readonly requests: number
  /** Calls between workloads (each logged by up to two proxies). */
  readonly calls: number
  readonly entries: number
  readonly messages: number
  /** Messages not sent because the stream's buffer was full (Envoy drops them too). */
  readonly droppedMessages: number
  /** Streams that ended with an error and were reopened. */
  readonly reconnects: number
  /** MetricsService messages sent (one per proxy per stats flush). */
  readonly metricsMessages: number
  readonly elapsedMs: number
}

export interface RunningSimulator {
  readonly progress: () => SimulatorProgress
  /** Sends what is buffered, half-closes every stream and waits for meshsight's answers. */
  readonly stop: () => Promise<SimulatorProgress>
  /** Settles when the simulator has stopped (at the end of `durationS` or after `stop`). */
  readonly done: Promise<SimulatorProgress>
}

const TICK_MS = 20

type AlsCall = grpc.ClientWritableStream<Buffer>

export const startSimulator = (options: SimulatorOptions): RunningSimulator => {
  const topology = options.topology ?? bookinfo()
  const traffic = makeTraffic(
    topology,
    seededRandom(options.seed ?? 1),
    options.peerFormat === undefined ? {} : { peerFormat: options.peerFormat }
  )
  /**
   * Each proxy's own connection, its ALS and MetricsService streams on it, as each Envoy has. grpc-js would put every
   * client of one target on one connection, and meshsight lets a connection carry at most 100 streams
   * (MESHSIGHT_GRPC_MAX_STREAMS_PER_CONNECTION): the rest never opened and their messages were all dropped.
   */
  const connections = new Map<SimPod, { readonly als: AlsClient; readonly metrics: MetricsClient }>()
  const connectionOf = (pod: SimPod) => {
    let c = connections.get(pod)
    if (c === undefined) {
      const als = makeAlsClient(options.target, "v3", { "grpc.use_local_subchannel_pool": 1 })
      c = { als, metrics: makeMetricsClient(options.target, "v3", { channelOverride: als.getChannel() }) }
      connections.set(pod, c)
    }
    return c
  }
  const streams = new Map<SimPod, AlsCall>()
  const metricsStreams = new Map<SimPod, AlsCall>()
  const stats = makeProxyStats(topology, seededRandom((options.seed ?? 1) + 1))
  /** Streams whose HTTP/2 buffer is full until they drain: Envoy drops log messages above its high watermark. */
  const congested = new Set<AlsCall>()
  const progress = { requests: 0, calls: 0, entries: 0, messages: 0, droppedMessages: 0, reconnects: 0, metricsMessages: 0 }
  const startedAt = Date.now()
  let stopped = false

  const open = (pod: SimPod): AlsCall => {
    const call = connectionOf(pod).als.StreamAccessLogs((err) => {
      congested.delete(call)
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

  /** Each proxy's stats flush; a new stream (after a break) starts with the identifier again. */
  const flushStats = () => {
    const now = Date.now()
    for (const pod of topology.pods) {
      let call = metricsStreams.get(pod)
      const first = call === undefined
      if (call === undefined) {
        const opened: AlsCall = connectionOf(pod).metrics.StreamMetrics((err) => {
          if (metricsStreams.get(pod) !== opened) return
          metricsStreams.delete(pod)
          if (err && !stopped) progress.reconnects++
        })
        metricsStreams.set(pod, opened)
        call = opened
      }
      const message = encodeMetricsMessage(stats.flush(pod, now), first ? { workload: pod, role: pod.role } : undefined)
      call.write(Buffer.from(message.buffer, message.byteOffset, message.byteLength))
      progress.metricsMessages++
    }
  }

  const batcher = makeBatcher(options.entriesPerMessage ?? 50, (pod, message, entries) => {
    const call = streams.get(pod) ?? open(pod)
    if (congested.has(call)) {
      progress.droppedMessages++
      return
    }
    if (!call.write(Buffer.from(message.buffer, message.byteOffset, message.byteLength))) {
      congested.add(call)
      call.once("drain", () => congested.delete(call))
    }
    progress.messages++
    progress.entries += entries
  })

  // Requests owed by the clock, so the rate holds even when a tick runs late; each is stamped with its own moment.
  const tick = setInterval(() => {
    const now = Date.now()
    const due = Math.floor(((now - startedAt) * options.rate) / 1000)
    const owed = due - progress.requests
    for (let i = 0; i < owed; i++) {
      progress.calls += traffic.request(now - TICK_MS + ((i + 1) * TICK_MS) / owed, batcher.add)
      progress.requests++
    }
  }, TICK_MS)
  const flush = setInterval(() => batcher.flush(), options.flushIntervalMs ?? 1000)
  const statsInterval = options.statsFlushIntervalMs ?? 5000
  const statsFlush = statsInterval > 0 ? setInterval(flushStats, statsInterval) : undefined

  let finish: (p: SimulatorProgress) => void = () => {}
  const done = new Promise<SimulatorProgress>((resolve) => (finish = resolve))
  const snapshot = (): SimulatorProgress => ({ ...progress, elapsedMs: Date.now() - startedAt })

  const stop = async (): Promise<SimulatorProgress> => {
    if (!stopped) {
      stopped = true
      clearInterval(tick)
      clearInterval(flush)
      clearInterval(statsFlush)
      clearTimeout(deadline)
      batcher.flush()
      // Half-close every stream and wait for meshsight's answers, so that nothing sent is cut off.
      await Promise.all(
        [...streams.values(), ...metricsStreams.values()].map(
          (call) =>
            new Promise<void>((resolve) => {
              call.once("status", () => resolve())
              call.end()
            })
        )
      )
      for (const c of connections.values()) c.als.close()
      finish(snapshot())
    }
    return done
  }
  const deadline = options.durationS === undefined ? undefined : setTimeout(() => void stop(), options.durationS * 1000)

  return { progress: snapshot, stop, done }
}
