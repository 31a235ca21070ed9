// Generated Istio sidecar traffic for the UI tests: calls between services, each logged by the client's sidecar
// (outbound) and the server's (inbound), sent as Envoy does, one ALS stream per proxy, over real gRPC.
import { encodeAlsMessageJson } from "../../../sim/envoy-protos.ts"
import {
  alsMessageJson,
  inboundHttpEntry,
  inboundTcpEntry,
  outboundHttpEntry,
  outboundTcpEntry,
  type Workload
} from "../../../sim/istio-entries.ts"
import { sendAlsMessages } from "../../support/als-client.ts"

export interface Call {
  /** Services as meshsight names them with the default rule: `app.namespace`. */
  readonly from: string
  readonly to: string
  readonly count: number
  readonly latencyMs: number
  /** How many of `count` answer 503. */
  readonly errors?: number
  readonly path?: string
  /** When the calls happened, as ms before now (default 30 s). */
  readonly agoMs?: number
  /** Which pod of the server answers (default 0), to give a service several instances. */
  readonly serverPod?: number
  /** TCP connections instead of HTTP requests: `count` connections, each with these bytes (as the server counts them). */
  readonly tcp?: { readonly receivedBytes: number; readonly sentBytes: number }
}

const PORT = 9080

const workloads = new Map<string, Workload>()

/** `reviews.default` pod 1 → pod reviews-v1-1 in namespace default, with a stable IP. */
export const workload = (service: string, pod = 0): Workload => {
  const key = `${service}#${pod}`
  const known = workloads.get(key)
  if (known) return known
  const [app = service, namespace = "default"] = service.split(".")
  const n = workloads.size + 1
  const w: Workload = {
    name: `${app}-v1-${pod}`,
    namespace,
    ip: `10.${100 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`,
    labels: { app, version: "v1", "service.istio.io/canonical-name": app },
    workloadName: `${app}-v1`
  }
  workloads.set(key, w)
  return w
}

/** One ALS message per proxy and kind (HTTP, TCP) holding every entry of that kind the proxy logged. */
export const meshMessages = (calls: ReadonlyArray<Call>, nowMs = Date.now()): Array<Uint8Array> => {
  const byProxy = new Map<Workload, { http: Array<unknown>; tcp: Array<unknown> }>()
  const log = (w: Workload, kind: "http" | "tcp", entry: unknown) => {
    const entries = byProxy.get(w) ?? { http: [], tcp: [] }
    entries[kind].push(entry)
    byProxy.set(w, entries)
  }
  for (const call of calls) {
    const client = workload(call.from)
    const server = workload(call.to, call.serverPod)
    const peers = { client, server, port: PORT, host: `${server.labels.app}.${server.namespace}.svc.cluster.local` }
    for (let i = 0; i < call.count; i++) {
      const startMs = nowMs - (call.agoMs ?? 30_000) + i
      if (call.tcp) {
        const inbound = { startMs, durationMs: call.latencyMs, ...call.tcp }
        // The client's proxy counts the same bytes the other way round.
        const outbound = { ...inbound, receivedBytes: call.tcp.sentBytes, sentBytes: call.tcp.receivedBytes }
        log(client, "tcp", outboundTcpEntry(outbound, peers))
        log(server, "tcp", inboundTcpEntry(inbound, peers))
        continue
      }
      const http = {
        startMs,
        durationMs: call.latencyMs,
        path: call.path ?? "/",
        code: i < (call.errors ?? 0) ? 503 : 200
      }
      log(client, "http", outboundHttpEntry(http, peers))
      log(server, "http", inboundHttpEntry(http, peers))
    }
  }
  // A message holds HTTP or TCP entries, not both (a oneof): a proxy with both sends two.
  return [...byProxy].flatMap(([w, e]) =>
    (["http", "tcp"] as const)
      .filter((kind) => e[kind].length > 0)
      .map((kind) => encodeAlsMessageJson(alsMessageJson({ [kind]: e[kind] }, { workload: w })))
  )
}

/** The calls' messages (`meshMessages`), sent by `sendMeshMessages`. */
export const sendMeshTraffic = (alsPort: number, calls: ReadonlyArray<Call>, nowMs?: number): Promise<void> =>
  sendMeshMessages(alsPort, meshMessages(calls, nowMs))

/** Sends each message (`meshMessages`) on its own stream, a few streams at a time. */
export const sendMeshMessages = async (alsPort: number, messages: ReadonlyArray<Uint8Array>): Promise<void> => {
  const pending = [...messages]
  const sendNext = async (): Promise<void> => {
    const message = pending.pop()
    if (message === undefined) return
    const status = await sendAlsMessages(alsPort, [message])
    if (status.code !== 0) throw new Error(`ALS stream ended with ${status.code}: ${status.details}`)
    return sendNext()
  }
  await Promise.all(Array.from({ length: 16 }, sendNext))
}
