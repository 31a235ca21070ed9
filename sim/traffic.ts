// Simulated user requests through the mesh: each request walks the topology's routes from the gateway down, and
// every call yields the entries Istio's proxies would log for it — the client side (outbound, or the gateway's
// entry) on the caller's proxy and the server side (inbound) on the callee's.
import {
  gatewayHttpEntry,
  type HttpCall,
  inboundHttpEntry,
  inboundTcpEntry,
  outboundHttpEntry,
  outboundTcpEntry
} from "./istio-entries.ts"
import type { Random } from "./random.ts"
import type { Route, SimPod, Topology } from "./topology.ts"

/** Receives each entry (proto3 JSON) with the pod whose proxy logs it. */
export type EntrySink = (pod: SimPod, kind: "http" | "tcp", entry: Record<string, unknown>) => void

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

/** Envoy's names for the response flags the simulator sets on failed calls (ResponseFlags in accesslog.proto). */
const UPSTREAM_CONNECTION_FAILURE = { upstreamConnectionFailure: true }

export const makeTraffic = (topology: Topology, random: Random) => {
  const podsByService = groupBy(topology.pods, (p) => p.service)
  const routesFrom = groupBy(topology.routes, (r) => r.from)
  let ephemeralPort = 32768

  const nextPort = () => {
    ephemeralPort = ephemeralPort >= 60999 ? 32768 : ephemeralPort + 1
    return ephemeralPort
  }

  const outcome = (route: Route): Pick<HttpCall, "code" | "responseFlags"> => {
    const roll = random.next()
    if (roll < route.serverErrors / 2) return { code: 503, responseFlags: UPSTREAM_CONNECTION_FAILURE }
    if (roll < route.serverErrors) return { code: 500 }
    if (roll < route.serverErrors + route.clientErrors) return { code: 404 }
    return { code: 200 }
  }

  /** Makes the call and the calls it leads to; returns its duration in ms. */
  const call = (client: SimPod, route: Route, startMs: number, sink: EntrySink): number => {
    const server = random.pick(podsByService.get(route.to)!)
    let downstreamMs = 0
    for (const next of routesFrom.get(route.to) ?? []) {
      // bookinfo's reviews v1 shows no stars, so it never calls ratings.
      if (next.to === "ratings" && server.version === "v1") continue
      if (random.next() < next.probability) downstreamMs += call(server, next, startMs + 0.5, sink)
    }
    // reviews v3 is bookinfo's slow version.
    const median = route.latency.medianMs * (server.version === "v3" ? 2.5 : 1)
    const durationMs = random.logNormal(median, route.latency.sigma) + downstreamMs
    const port = nextPort()
    const host = `${route.to}.${server.namespace}.svc.cluster.local`
    const peers = { client, server, port: route.port, host }
    if (route.protocol === "tcp") {
      const tcp = { startMs, durationMs, receivedBytes: 200 + random.int(2000), sentBytes: 100 + random.int(500) }
      sink(client, "tcp", outboundTcpEntry(tcp, peers, port))
      sink(server, "tcp", inboundTcpEntry(tcp, peers, port))
      return durationMs
    }
    const path = random.pick(route.paths).replace("{id}", String(random.int(route.ids)))
    const http: HttpCall = { startMs, durationMs, method: "GET", path, authority: `${route.to}:${route.port}`, mtls: true, ...outcome(route) }
    sink(
      client,
      "http",
      client.role === "router"
        ? gatewayHttpEntry(http, client, { workload: server, port: route.port, host }, { ip: `203.0.113.${1 + random.int(200)}`, port })
        : outboundHttpEntry(http, peers, port)
    )
    sink(server, "http", inboundHttpEntry(http, peers, port))
    return durationMs
  }

  return {
    /** One user request entering at the gateway at `startMs`. */
    request: (startMs: number, sink: EntrySink): void => {
      for (const route of routesFrom.get(topology.gateway.service) ?? []) call(topology.gateway, route, startMs, sink)
    }
  }
}
