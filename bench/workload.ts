// The benchmark's traffic: realistic 100-entry ALS v3 messages of the simulated bookinfo mesh, generated from a
// seed so that every process of one run (client, decoders) works on the same bytes.
import { generateMessages, type GeneratedStream } from "../sim/messages.ts"
import { bookinfo, type TopologyOptions } from "../sim/topology.ts"

export const ENTRIES_PER_MESSAGE = 100

export interface Workload {
  readonly seed: number
  readonly startMs: number
  /** Messages generated (the pool streams cycle through). */
  readonly messages: number
  readonly topology?: TopologyOptions
  /**
   * Every stream sends this proxy's pool (an index among the proxies with more than an identifier message), instead
   * of stream i sending proxy i's (modulo their number): for telling the cost of more streams from that of more
   * proxies mixed (bench/stream-mix.ts).
   */
  readonly proxy?: number
}

export const generate = (w: Workload): ReadonlyArray<GeneratedStream> =>
  generateMessages({
    seed: w.seed,
    entriesPerMessage: ENTRIES_PER_MESSAGE,
    messages: w.messages,
    startMs: w.startMs,
    // Istio ≥ 1.24's Struct on every entry, as docs/performance.md states (the simulator's default mixes in FlatNodes).
    peerFormat: "struct",
    topology: bookinfo(w.topology)
  }).streams

export const encodeWorkload = (w: Workload): string => Buffer.from(JSON.stringify(w)).toString("base64url")
export const decodeWorkload = (s: string): Workload => JSON.parse(Buffer.from(s, "base64url").toString())
