// The live simulator against a real meshsight (in-process, real gRPC and HTTP on loopback): the bookinfo services
// and edges appear through the HTTP API with client- and server-side metrics that add up to what was sent.
import { afterEach, describe, expect, it } from "vitest"
import { startSimulator, type SimulatorProgress } from "../../sim/simulator.ts"
import { bookinfo } from "../../sim/topology.ts"
import { metricValue } from "../../testkit/meshsight-process.ts"
import { getJson } from "../support/http-json.ts"
import { startMeshsightAsync } from "../support/meshsight.ts"
import { waitFor } from "../support/wait-for.ts"

let stopMeshsight: (() => Promise<void>) | undefined
afterEach(async () => {
  await stopMeshsight?.()
  stopMeshsight = undefined
})

const EDGES = [
  "UNKNOWN → istio-ingressgateway.istio-system",
  "istio-ingressgateway.istio-system → productpage.default",
  "productpage.default → details.default",
  "productpage.default → reviews.default",
  "ratings.default → mysql.default",
  "reviews.default → ratings.default"
]

/** HTTP calls and TCP connections as their clients' proxies logged them. */
const clientSideCalls = (topology: any): number =>
  topology.edges.reduce((n: number, e: any) => n + (e.client?.calls ?? 0) + (e.client?.protocols.TCP ?? 0), 0)

/** Runs a short burst and returns the topology once meshsight has stored every call the simulator sent. */
const burst = async (peerFormat: "mixed" | "struct" | "flatbuffer") => {
  const app = await startMeshsightAsync({ config: { MESHSIGHT_FLUSH_INTERVAL_MS: "100" } })
  stopMeshsight = app.stop
  const simulator = startSimulator({
    target: `127.0.0.1:${app.alsPort}`,
    rate: 200,
    durationS: 1.5,
    seed: 11,
    entriesPerMessage: 10,
    flushIntervalMs: 200,
    statsFlushIntervalMs: 300,
    ...(peerFormat === "mixed" ? {} : { peerFormat })
  })
  const sent: SimulatorProgress = await simulator.done
  for (const deadline = Date.now() + 5000; ; ) {
    const topology = (await getJson(app.url, "/api/topology")).body
    if (clientSideCalls(topology) === sent.calls || Date.now() > deadline) return { url: app.url, topology, sent }
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe("the simulator against meshsight", () => {
  // mixed: the simulator's default, a mesh mid-upgrade (Istio ≥ 1.24 Struct peers and some older FlatNode ones).
  for (const peerFormat of ["mixed", "struct", "flatbuffer"] as const) {
    it(`shows bookinfo's services and edges from both sides (${peerFormat} peers)`, async () => {
      const { url, topology, sent } = await burst(peerFormat)
      expect(sent.requests).toBeGreaterThan(200)
      expect(sent.droppedMessages).toBe(0)
      expect(topology.nodes.map((n: any) => n.name).sort()).toEqual([
        "UNKNOWN",
        "details.default",
        "istio-ingressgateway.istio-system",
        "mysql.default",
        "productpage.default",
        "ratings.default",
        "reviews.default"
      ])
      expect(topology.edges.map((e: any) => `${e.source} → ${e.target}`).sort()).toEqual(EDGES)
      const edge = (source: string, target: string) => topology.edges.find((e: any) => e.source === source && e.target === target)

      // One gateway → productpage call per user request, seen by the gateway (client side) and productpage (server
      // side, minus the calls whose connection failed: those never reached productpage's proxy).
      const entry = edge("istio-ingressgateway.istio-system", "productpage.default")
      expect(entry.client.calls).toBe(sent.requests)
      const connectionFailures = entry.client.responseFlags.upstream_connection_failure ?? 0
      expect(entry.server.calls).toBe(sent.requests - connectionFailures)
      expect(edge("UNKNOWN", "istio-ingressgateway.istio-system").server.calls).toBe(sent.requests)

      // Every HTTP call and TCP connection is counted once on the client side; TCP with bytes.
      expect(clientSideCalls(topology)).toBe(sent.calls)
      const tcp = edge("ratings.default", "mysql.default")
      expect(tcp.server.protocols.TCP).toBe(tcp.client.protocols.TCP)
      expect(tcp.server.receivedBytes).toBeGreaterThan(0)
      expect(tcp.client.sentBytes).toBe(tcp.server.sentBytes)

      for (const [source, target] of [
        ["productpage.default", "details.default"],
        ["productpage.default", "reviews.default"],
        ["reviews.default", "ratings.default"]
      ]) {
        const e = edge(source, target)
        expect(e.client.calls, `${source} → ${target}`).toBeGreaterThan(0)
        expect(e.server.calls, `${source} → ${target}`).toBeGreaterThan(0)
        expect(e.server.respTimeMs).toBeGreaterThan(0)
      }
      const reviews = topology.nodes.find((n: any) => n.name === "reviews.default").metrics
      expect(reviews.statusCodes["200"]).toBeGreaterThan(0)
      expect(reviews.sla).toBeGreaterThan(90)
      expect(reviews.sla).toBeLessThanOrEqual(100)

      // Each of the six reviews pods (v1, v2, v3 × 2) is an instance with server-side metrics.
      const instances = (await getJson(url, "/api/services/reviews.default/instances")).body.instances
      expect(instances.length).toBe(6)
      expect(instances.every((i: any) => i.name.startsWith("reviews-v") && i.metrics.calls > 0)).toBe(true)

      // Every proxy also streamed its stats over MetricsService: the same six reviews pods, with a heap, and
      // reviews' outbound cluster to ratings among their clusters.
      expect(sent.metricsMessages).toBeGreaterThan(0)
      const proxies = (await getJson(url, "/api/services/reviews.default/proxies")).body.instances
      expect(proxies.map((p: any) => p.instance).sort()).toEqual(instances.map((i: any) => i.name).sort())
      expect(proxies.every((p: any) => p.heapMemoryUsed > 0 && p.clusters >= 2)).toBe(true)
      const proxy = (await getJson(url, `/api/services/reviews.default/instances/${proxies[0].instance}/proxy`)).body
      expect(proxy.clusters.map((c: any) => c.clusterName)).toContain("ratings.default")
    })
  }

  it("gives every proxy its own connection: a mesh of more proxies than a connection carries streams from all of them", async () => {
    const app = await startMeshsightAsync({ config: { MESHSIGHT_FLUSH_INTERVAL_MS: "100" } })
    stopMeshsight = app.stop
    // More proxies than the 100 streams meshsight lets a connection carry (MESHSIGHT_GRPC_MAX_STREAMS_PER_CONNECTION).
    const topology = bookinfo({ instances: 12, extraServices: 4 })
    expect(topology.pods.length).toBeGreaterThan(100)
    const simulator = startSimulator({
      target: `127.0.0.1:${app.alsPort}`,
      topology,
      rate: 400,
      durationS: 30,
      entriesPerMessage: 5,
      flushIntervalMs: 200,
      statsFlushIntervalMs: 300
    })
    try {
      // Each proxy's ALS stream and its MetricsService stream, all open at once.
      const text = await waitFor(
        "every proxy's streams open",
        async () => (await fetch(`${app.url}/metrics`)).text(),
        (t) =>
          metricValue(t, "meshsight_als_streams_active") >= topology.pods.length &&
          metricValue(t, "meshsight_proxy_instances") === topology.pods.length,
        20_000,
        200
      )
      expect(metricValue(text, "meshsight_proxy_instances")).toBe(topology.pods.length)
    } finally {
      const sent = await simulator.stop()
      expect(sent.droppedMessages).toBe(0)
    }
  })
})
