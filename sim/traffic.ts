// Simulated user requests through the mesh: each request walks the topology's routes from the gateway down, and
// every call yields the entries Istio's proxies would log for it — the client side (outbound, or the gateway's
// entry) on the caller's proxy and the server side (inbound) on the callee's.
import {
  gatewayHttpEntry,
  type HttpCall,
  inboundHttpEntry,
  inboundTcpEntry,
  outboundHttpEntry,
  outboundTcpEntry,
  type PeerFormat
} from "./istio-entries.ts"
import type { Random } from "./random.ts"
import type { Route, SimPod, SimService, Topology } from "./topology.ts"

/** Receives each entry (proto3 JSON) with the pod whose proxy logs it. */
export type EntrySink = (pod: SimPod, kind: "http" | "tcp", entry: Record<string, unknown>) => void

export interface TrafficOptions {
  /** How every proxy logs peers; default: each proxy as its Istio version does (`peerFormatOf`), a mixed mesh. */
  readonly peerFormat?: PeerFormat
}

const groupBy = <A>(items: ReadonlyArray<A>, key: (a: A) => string) => {
  const groups = new Map<string, Array<A>>()
  for (const item of items) {
    const k = key(item)
    const group = groups.get(k)
    if (group) group.push(item)
    else groups.set(k, [item])
  }
  return groups
}

/** What became of a call, and which proxies log it. */
interface Outcome {
  readonly client: Pick<HttpCall, "code" | "responseFlags">
  /** Undefined when the request never reached the server's proxy. */
  readonly server: Pick<HttpCall, "code" | "responseFlags"> | undefined
  /** The client gave up after this long (Envoy's route timeout), ms. */
  readonly timeoutMs?: number
}

// Envoy's ResponseFlags field names (envoy.data.accesslog.v3.ResponseFlags).
const OK: Outcome = { client: { code: 200 }, server: { code: 200 } }
const NOT_FOUND: Outcome = { client: { code: 404 }, server: { code: 404 } }
const APP_ERROR: Outcome = { client: { code: 500 }, server: { code: 500 } }
/** UF: the connection to the upstream failed, so only the client's proxy saw the request. */
const CONNECTION_FAILURE: Outcome = { client: { code: 503, responseFlags: { upstreamConnectionFailure: true } }, server: undefined }
/**
 * UT: the client's proxy answered 504 at the route timeout and reset the upstream stream; the server's proxy logs
 * no response code and DC (downstream connection termination).
 */
const TIMEOUT: Outcome = {
  client: { code: 504, responseFlags: { upstreamRequestTimeout: true } },
  server: { code: 0, responseFlags: { downstreamConnectionTermination: true } },
  timeoutMs: 1000
}

const USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) meshsight-sim"

export const makeTraffic = (topology: Topology, random: Random, options: TrafficOptions = {}) => {
  const podsByService = groupBy(topology.pods, (p) => p.service)
  const routesFrom = groupBy(topology.routes, (r) => r.from)
  const services = new Map<string, SimService>(topology.services.map((s) => [s.name, s]))
  let ephemeralPort = 32768

  const nextPort = () => {
    ephemeralPort = ephemeralPort >= 60999 ? 32768 : ephemeralPort + 1
    return ephemeralPort
  }

  const outcome = (route: Route): Outcome => {
    const roll = random.next()
    if (roll >= route.serverErrors) return roll < route.serverErrors + route.clientErrors ? NOT_FOUND : OK
    const kind = roll / route.serverErrors
    return kind < 0.4 ? APP_ERROR : kind < 0.7 ? CONNECTION_FAILURE : TIMEOUT
  }

  /** Makes the call and the calls it leads to; returns its duration in ms and the number of calls made. */
  // Envoy gives each user request an x-request-id at the gateway and every hop passes it on; a counter, so that
  // the seeded random sequence (and with it the rest of the traffic) stays as it was.
  let requests = 0
  const requestIdOf = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`

  const call = (
    client: SimPod,
    route: Route,
    startMs: number,
    sink: EntrySink,
    requestId: string
  ): { durationMs: number; calls: number } => {
    const server = random.pick(podsByService.get(route.to)!)
    const port = nextPort()
    const host = `${route.to}.${server.namespace}.svc.cluster.local`
    const peers = { client, server, port: route.port, host, serviceIp: services.get(route.to)?.clusterIp ?? "10.96.0.10", ...options }
    if (route.protocol === "tcp") {
      // A short-lived connection (bookinfo's ratings opens one per query).
      const tcp = {
        startMs,
        durationMs: random.logNormal(route.latency.medianMs, route.latency.sigma),
        receivedBytes: 200 + random.int(2000),
        sentBytes: 100 + random.int(500)
      }
      sink(client, "tcp", outboundTcpEntry(tcp, peers, port))
      sink(server, "tcp", inboundTcpEntry(tcp, peers, port))
      return { durationMs: tcp.durationMs, calls: 1 }
    }
    const result = outcome(route)
    let calls = 1
    let downstreamMs = 0
    if (result.server !== undefined) {
      for (const next of routesFrom.get(route.to) ?? []) {
        // bookinfo's reviews v1 shows no stars, so it never calls ratings.
        if (next.to === "ratings" && server.version === "v1") continue
        if (random.next() >= next.probability) continue
        const made = call(server, next, startMs + 0.5, sink, requestId)
        downstreamMs += made.durationMs
        calls += made.calls
      }
    }
    // reviews v3 is bookinfo's slow version.
    const median = route.latency.medianMs * (server.version === "v3" ? 2.5 : 1)
    const serverMs = random.logNormal(median, route.latency.sigma) + downstreamMs
    // A failed connection fails within about a millisecond.
    const durationMs = result.server === undefined ? 0.5 + random.next() : Math.min(serverMs, result.timeoutMs ?? Infinity)
    const path = random.pick(route.paths).replace("{id}", String(random.int(route.ids)))
    const http = { startMs, method: "GET", path, authority: `${route.to}:${route.port}`, mtls: true, requestId, userAgent: USER_AGENT }
    const clientCall: HttpCall = { ...http, durationMs, ...result.client }
    sink(
      client,
      "http",
      client.role === "router"
        ? gatewayHttpEntry(
            clientCall,
            client,
            { workload: server, port: route.port, host, ...options },
            { ip: `203.0.113.${1 + random.int(200)}`, port }
          )
        : outboundHttpEntry(clientCall, peers, port)
    )
    if (result.server !== undefined)
      sink(server, "http", inboundHttpEntry({ ...http, durationMs: serverMs, ...result.server }, peers, port))
    return { durationMs, calls }
  }

  return {
    /** One user request entering at the gateway at `startMs`; returns the number of calls it made in the mesh. */
    request: (startMs: number, sink: EntrySink): number => {
      let calls = 0
      const requestId = requestIdOf(++requests)
      for (const route of routesFrom.get(topology.gateway.service) ?? [])
        calls += call(topology.gateway, route, startMs, sink, requestId).calls
      return calls
    }
  }
}
