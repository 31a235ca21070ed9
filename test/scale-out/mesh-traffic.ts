// A deterministic mesh's ALS messages for the scale-out tests: services in two namespaces calling each other over
// HTTP (paths, codes, latencies varied) and TCP, dated in whole minutes of the past so that each minute is over
// (and written by storage mode prometheus) by the time the messages arrive. The messages are grouped by proxy:
// each proxy's go on one stream of their own, as Envoy sends them (meshsight reads a stream's node from its first
// message).
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import {
  alsMessageJson,
  type CallPeers,
  inboundHttpEntry,
  inboundTcpEntry,
  outboundHttpEntry,
  outboundTcpEntry,
  type Workload
} from "../../sim/istio-entries.ts"
import { seededRandom } from "../../sim/random.ts"

const SERVICES = [
  ["web", "shop"],
  ["cart", "shop"],
  ["pay", "shop"],
  ["stock", "ops"],
  ["db", "ops"]
] as const

const pods: Array<Workload> = SERVICES.flatMap(([app, namespace], s) =>
  [0, 1].map((p) => ({
    name: `${app}-${p}`,
    namespace,
    ip: `10.7.${s}.${p + 1}`,
    labels: { app, version: `v${p + 1}` },
    workloadName: app
  }))
)
const podsOf = (app: string) => pods.filter((p) => p.labels.app === app)
const HTTP_EDGES = [
  ["web", "cart"],
  ["web", "pay"],
  ["cart", "stock"],
  ["pay", "stock"]
] as const
const TCP_EDGES = [["stock", "db"]] as const

/**
 * `callsPerMinute` HTTP calls and a few TCP connections in each of `minutes` (epoch ms of each minute's start), as
 * each proxy's messages in the order it sends them.
 */
export const meshMessages = (minutes: ReadonlyArray<number>, callsPerMinute: number, seed: number): Array<Array<Uint8Array>> => {
  const { pick, next: random } = seededRandom(seed)
  const byNode = new Map<Workload, Array<unknown>>()
  const log = (node: Workload, entry: unknown) => {
    let entries = byNode.get(node)
    if (entries === undefined) byNode.set(node, (entries = []))
    entries.push({ node, entry })
  }
  const streams = new Map<Workload, Array<Uint8Array>>()
  for (const minute of minutes) {
    for (let i = 0; i < callsPerMinute; i++) {
      const [from, to] = pick(HTTP_EDGES)
      const peers: CallPeers = {
        client: pick(podsOf(from)),
        server: pick(podsOf(to)),
        port: 8080,
        host: `${to}.${pods.find((p) => p.labels.app === to)!.namespace}.svc.cluster.local`
      }
      const call = {
        startMs: minute + Math.floor(random() * 50_000),
        durationMs: 2 + Math.floor(random() ** 3 * 900),
        method: pick(["GET", "GET", "POST"]),
        path: `/api/${to}/${Math.floor(random() * 4)}`,
        code: pick([200, 200, 200, 201, 404, 503]),
        authority: `${to}:8080`,
        mtls: true
      }
      log(peers.client, outboundHttpEntry(call, peers))
      log(peers.server, inboundHttpEntry(call, peers))
    }
    for (const [from, to] of TCP_EDGES) {
      const peers: CallPeers = { client: pick(podsOf(from)), server: pick(podsOf(to)), port: 5432, host: `${to}.ops.svc.cluster.local` }
      const call = { startMs: minute + 1_000, durationMs: 30_000, receivedBytes: 100 + Math.floor(random() * 1000), sentBytes: 5_000 }
      log(peers.client, outboundTcpEntry(call, peers))
      log(peers.server, inboundTcpEntry(call, peers))
    }
    for (const [node, logged] of byNode) {
      let messages = streams.get(node)
      if (messages === undefined) streams.set(node, (messages = []))
      for (let i = 0; i < logged.length; i += 25) {
        const slice = logged.slice(i, i + 25) as Array<{ entry: Record<string, unknown> }>
        const http = slice.filter((x) => "request" in x.entry).map((x) => x.entry)
        const tcp = slice.filter((x) => !("request" in x.entry)).map((x) => x.entry)
        // An ALS message carries HTTP or TCP entries, never both (a oneof).
        if (http.length > 0) messages.push(encodeAlsMessageJson(alsMessageJson({ http }, { workload: node })))
        if (tcp.length > 0) messages.push(encodeAlsMessageJson(alsMessageJson({ tcp }, { workload: node })))
      }
    }
    byNode.clear()
  }
  return [...streams.values()]
}
