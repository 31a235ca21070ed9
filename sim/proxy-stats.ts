// Envoy's MetricsService messages as an Istio sidecar sends them: `server.*` and per-cluster stats as Prometheus
// metric families (counters and gauges named by Envoy's stat names), for every simulated proxy. The heap grows
// and shrinks, counters grow with the proxy's traffic, and now and then a cluster loses its healthy hosts for a
// flush (membership_healthy 0, a none-healthy connection failure). Shared by the simulator, the benchmark and tests.
import { officialRoot, structFromJson } from "./envoy-protos.ts"
import { istioNodeJson, type Role, type Workload } from "./istio-entries.ts"
import type { Random } from "./random.ts"
import type { SimPod, Topology } from "./topology.ts"

export const StreamMetricsMessage = officialRoot.lookupType("envoy.service.metrics.v3.StreamMetricsMessage")

/** A metric family in protobufjs's object form (io.prometheus.client.MetricFamily). */
export type FamilyJson = Record<string, unknown>

export const counterFamily = (name: string, value: number, timestampMs: number): FamilyJson => ({
  name,
  type: "COUNTER",
  metric: [{ counter: { value }, timestampMs }]
})
export const gaugeFamily = (name: string, value: number, timestampMs: number): FamilyJson => ({
  name,
  type: "GAUGE",
  metric: [{ gauge: { value }, timestampMs }]
})

/** A StreamMetricsMessage encoded with Envoy's official protos; the identifier only on a stream's first message. */
export const encodeMetricsMessage = (
  families: ReadonlyArray<FamilyJson>,
  node?: { readonly workload: Workload; readonly role?: Role } | { readonly json: Record<string, unknown> }
): Uint8Array => {
  const nodeJson = node === undefined ? undefined : "json" in node ? node.json : istioNodeJson(node.workload, node.role)
  const identifier =
    nodeJson === undefined
      ? undefined
      : { node: { ...nodeJson, metadata: structFromJson((nodeJson.metadata ?? {}) as Record<string, unknown>) } }
  return StreamMetricsMessage.encode(StreamMetricsMessage.fromObject({ identifier, envoyMetrics: families })).finish()
}

/** One upstream (outbound) or local (inbound) cluster of a proxy, with its counters so far. */
interface SimCluster {
  readonly prefix: string
  readonly hosts: number
  cxTotal: number
  rqTotal: number
  panics: number
  noneHealthy: number
}

interface ProxyState {
  readonly clusters: Array<SimCluster>
  readonly baseHeap: number
  readonly phase: number
  bugFailures: number
}

export interface ProxyStats {
  /** The families one flush of `pod`'s proxy sends at `nowMs`. */
  readonly flush: (pod: SimPod, nowMs: number) => Array<FamilyJson>
  /** The proxy restarts: its counters start again from 0. */
  readonly restart: (pod: SimPod) => void
}

const MIB = 1024 * 1024

export const makeProxyStats = (topology: Topology, random: Random, unhealthyChance = 0.02): ProxyStats => {
  const proxies = new Map<SimPod, ProxyState>()
  const podsOf = (service: string) => topology.pods.filter((p) => p.service === service).length

  const create = (pod: SimPod): ProxyState => {
    const outbound = topology.routes
      .filter((r) => r.from === pod.service)
      .map((r) => `cluster.outbound|${r.port}||${r.to}.${pod.namespace}.svc.cluster.local`)
    const inbound = topology.routes.filter((r) => r.to === pod.service).map((r) => `cluster.inbound|${r.port}||`)
    const clusters = [...new Set([...outbound, ...inbound])].map((prefix) => ({
      prefix,
      hosts: prefix.startsWith("cluster.inbound") ? 1 : Math.max(1, podsOf(prefix.split("|")[3].split(".")[0])),
      cxTotal: 0,
      rqTotal: 0,
      panics: 0,
      noneHealthy: 0
    }))
    return { clusters, baseHeap: (20 + random.int(20)) * MIB, phase: random.next() * 2 * Math.PI, bugFailures: 0 }
  }

  const flush = (pod: SimPod, nowMs: number): Array<FamilyJson> => {
    let state = proxies.get(pod)
    if (state === undefined) {
      state = create(pod)
      proxies.set(pod, state)
    }
    // The heap swings ±25% over ten minutes, with some noise: it grows and shrinks.
    const heap = Math.round(state.baseHeap * (1 + 0.25 * Math.sin(state.phase + (nowMs / 600_000) * 2 * Math.PI)) + random.int(MIB))
    const active = state.clusters.length
    const families: Array<FamilyJson> = [
      gaugeFamily("server.memory_heap_size", heap, nowMs),
      gaugeFamily("server.memory_allocated", Math.round(heap * 0.8), nowMs),
      gaugeFamily("server.memory_physical_size", heap + 8 * MIB, nowMs),
      gaugeFamily("server.total_connections", active * 2 + random.int(4), nowMs),
      gaugeFamily("server.parent_connections", 0, nowMs),
      gaugeFamily("server.concurrency", 2, nowMs),
      counterFamily("server.envoy_bug_failures", state.bugFailures, nowMs)
    ]
    for (const c of state.clusters) {
      const unhealthy = random.next() < unhealthyChance
      const requests = unhealthy ? 0 : 5 + random.int(50)
      c.rqTotal += requests
      c.cxTotal += unhealthy ? 0 : random.int(3)
      if (unhealthy) {
        c.noneHealthy += 1 + random.int(3)
        c.panics += 1
      }
      families.push(
        gaugeFamily(`${c.prefix}.membership_healthy`, unhealthy ? 0 : c.hosts, nowMs),
        gaugeFamily(`${c.prefix}.upstream_cx_active`, unhealthy ? 0 : 1 + random.int(4), nowMs),
        gaugeFamily(`${c.prefix}.upstream_rq_active`, unhealthy ? 0 : random.int(5), nowMs),
        gaugeFamily(`${c.prefix}.upstream_rq_pending_active`, unhealthy ? 0 : random.int(2), nowMs),
        counterFamily(`${c.prefix}.upstream_cx_total`, c.cxTotal, nowMs),
        counterFamily(`${c.prefix}.upstream_rq_total`, c.rqTotal, nowMs),
        counterFamily(`${c.prefix}.lb_healthy_panic`, c.panics, nowMs),
        counterFamily(`${c.prefix}.upstream_cx_none_healthy`, c.noneHealthy, nowMs),
        // A stat no rule reads, and a histogram as Envoy emits them: decoded, then passed over.
        counterFamily(`${c.prefix}.upstream_rq_retry`, 0, nowMs),
        {
          name: `${c.prefix}.upstream_rq_time`,
          type: "HISTOGRAM",
          metric: [
            {
              histogram: { sampleCount: c.rqTotal, sampleSum: c.rqTotal * 12, bucket: [{ cumulativeCount: c.rqTotal, upperBound: 25 }] },
              timestampMs: nowMs
            }
          ]
        }
      )
    }
    return families
  }

  return { flush, restart: (pod) => proxies.delete(pod) }
}
