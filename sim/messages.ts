// Entries → encoded StreamAccessLogsMessages, per proxy, the way Envoy batches them: HTTP and TCP entries in
// separate messages (a proto oneof), the identifier only on a stream's first message.
import { encodeAlsMessageJson } from "./envoy-protos.ts"
import { alsMessageJson, type PeerFormat } from "./istio-entries.ts"
import { seededRandom } from "./random.ts"
import { bookinfo, type SimPod, type Topology } from "./topology.ts"
import { makeTraffic } from "./traffic.ts"

export type MessageSink = (pod: SimPod, message: Uint8Array, entries: number) => void

export const makeBatcher = (entriesPerMessage: number, emit: MessageSink) => {
  const buffers = new Map<SimPod, { http: Array<unknown>; tcp: Array<unknown> }>()
  const identified = new Set<SimPod>()

  const send = (pod: SimPod, kind: "http" | "tcp", entries: Array<unknown>) => {
    const node = identified.has(pod) ? undefined : { workload: pod, role: pod.role }
    identified.add(pod)
    emit(pod, encodeAlsMessageJson(alsMessageJson({ [kind]: entries }, node)), entries.length)
  }

  return {
    add: (pod: SimPod, kind: "http" | "tcp", entry: Record<string, unknown>) => {
      let buffer = buffers.get(pod)
      if (buffer === undefined) buffers.set(pod, (buffer = { http: [], tcp: [] }))
      const entries = buffer[kind]
      entries.push(entry)
      if (entries.length >= entriesPerMessage) {
        buffer[kind] = []
        send(pod, kind, entries)
      }
    },
    /** Sends what is buffered, as Envoy does every `buffer_flush_interval`. */
    flush: () => {
      for (const [pod, buffer] of buffers) {
        for (const kind of ["http", "tcp"] as const) {
          if (buffer[kind].length > 0) send(pod, kind, buffer[kind])
          buffer[kind] = []
        }
      }
    },
    /** The next message to `pod` carries the identifier again (a new stream). */
    forget: (pod: SimPod) => identified.delete(pod)
  }
}

export interface GeneratedStream {
  readonly pod: SimPod
  /** The first carries the identifier; the rest can be sent in any order and repeated. */
  readonly messages: ReadonlyArray<Uint8Array>
}

export interface GenerateOptions {
  readonly seed: number
  readonly entriesPerMessage: number
  /** At least this many messages in all. */
  readonly messages: number
  readonly startMs: number
  readonly topology?: Topology
  /** Peers as Istio ≥ 1.24's Struct or older Istio's FlatBuffer for every proxy; default: each proxy's own (mixed). */
  readonly peerFormat?: PeerFormat
  /**
   * End with Envoy's timed flush: every proxy's partial batch is sent too, so that proxies with little traffic
   * (mysql, TCP) appear. Off by default: then every message holds exactly `entriesPerMessage` entries.
   */
  readonly flush?: boolean
}

/**
 * Pre-encoded messages per proxy, for benchmarks and tests: same seed, same bytes. Each stream's first message
 * carries the proxy's identifier (Istio node metadata); every entry of the pool starts within one second of
 * `startMs`.
 */
export const generateMessages = (
  options: GenerateOptions
): { readonly streams: ReadonlyArray<GeneratedStream>; readonly entries: number } => {
  const topology = options.topology ?? bookinfo()
  const random = seededRandom(options.seed)
  const traffic = makeTraffic(topology, random, options.peerFormat === undefined ? {} : { peerFormat: options.peerFormat })
  const byPod = new Map<SimPod, Array<Uint8Array>>()
  let messages = 0
  let entries = 0
  const batcher = makeBatcher(options.entriesPerMessage, (pod, message, n) => {
    const list = byPod.get(pod)
    if (list) list.push(message)
    else byPod.set(pod, [message])
    messages++
    entries += n
  })
  // A millisecond apart, so a pool's entries spread over a moment as real traffic would.
  for (let i = 0; messages < options.messages; i++) traffic.request(options.startMs + (i % 1000), batcher.add)
  if (options.flush === true) batcher.flush()
  return { streams: [...byPod].map(([pod, list]) => ({ pod, messages: list })), entries }
}
