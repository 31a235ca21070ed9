// SkyWalking's Envoy metrics rules (oap-server/server-starter/src/main/resources/envoy-metrics-rules/envoy.yaml and
// envoy-svc-relation.yaml) as tables, and the step that turns one message's metric families into the samples
// those rules read. Families no rule reads are passed over after a name check.
import type { MetricFamily } from "../domain/metric-family.ts"

/** How a metric's per-minute value comes from its samples. */
export type Pick = "last" | "max" | "increase"

/** Per instance (`envoy_` + name), from the proxy's `server.*` stats (`.` → `_` gives the rules' source names). */
export const INSTANCE_METRICS = [
  {
    name: "heap_memory_used",
    help: "Heap in use (server.memory_heap_size), the minute's last value, bytes",
    source: "server.memory_heap_size",
    pick: "last"
  },
  {
    name: "heap_memory_max_used",
    help: "Heap in use (server.memory_heap_size), the minute's max, bytes",
    source: "server.memory_heap_size",
    pick: "max"
  },
  {
    name: "memory_allocated",
    help: "Memory allocated (server.memory_allocated), the minute's last value, bytes",
    source: "server.memory_allocated",
    pick: "last"
  },
  {
    name: "memory_allocated_max",
    help: "Memory allocated (server.memory_allocated), the minute's max, bytes",
    source: "server.memory_allocated",
    pick: "max"
  },
  {
    name: "memory_physical_size",
    help: "Physical memory (server.memory_physical_size), the minute's last value, bytes",
    source: "server.memory_physical_size",
    pick: "last"
  },
  {
    name: "memory_physical_size_max",
    help: "Physical memory (server.memory_physical_size), the minute's max, bytes",
    source: "server.memory_physical_size",
    pick: "max"
  },
  {
    name: "total_connections_used",
    help: "Connections (server.total_connections), the minute's max",
    source: "server.total_connections",
    pick: "max"
  },
  {
    name: "parent_connections_used",
    help: "Connections of the parent process during a hot restart (server.parent_connections), the minute's max",
    source: "server.parent_connections",
    pick: "max"
  },
  {
    name: "worker_threads",
    help: "Worker threads (server.concurrency), the minute's last value",
    source: "server.concurrency",
    pick: "last"
  },
  { name: "worker_threads_max", help: "Worker threads (server.concurrency), the minute's max", source: "server.concurrency", pick: "max" },
  {
    name: "bug_failures",
    help: "ENVOY_BUG failures (server.envoy_bug_failures), the minute's last value",
    source: "server.envoy_bug_failures",
    pick: "last"
  }
] as const satisfies ReadonlyArray<{ name: string; help: string; source: string; pick: Pick }>

/**
 * Per instance and cluster_name (`envoy_` + name, inbound and outbound clusters) and, where `relation`, per
 * service relation on the client side (`envoy_sr_` + name, outbound clusters only). `stat` is the last part of the
 * family name `cluster.<direction>|PORT|SUBSET|HOST.<stat>`; the families of one cluster_name (subsets, ports)
 * are summed; counters (`increase`) count each family's per-minute increase.
 */
export const CLUSTER_METRICS = [
  {
    name: "cluster_membership_healthy",
    help: "Healthy hosts of the cluster (membership_healthy), the minute's last value",
    stat: "membership_healthy",
    pick: "last",
    relation: false
  },
  {
    name: "cluster_up_cx_active",
    help: "Active upstream connections (upstream_cx_active), the minute's last value",
    stat: "upstream_cx_active",
    pick: "last",
    relation: true
  },
  {
    name: "cluster_up_cx_incr",
    help: "Upstream connections opened in the minute (increase of upstream_cx_total)",
    stat: "upstream_cx_total",
    pick: "increase",
    relation: true
  },
  {
    name: "cluster_up_rq_active",
    help: "Active upstream requests (upstream_rq_active), the minute's last value",
    stat: "upstream_rq_active",
    pick: "last",
    relation: true
  },
  {
    name: "cluster_up_rq_incr",
    help: "Upstream requests in the minute (increase of upstream_rq_total)",
    stat: "upstream_rq_total",
    pick: "increase",
    relation: true
  },
  {
    name: "cluster_up_rq_pending_active",
    help: "Upstream requests waiting for a connection (upstream_rq_pending_active), the minute's last value",
    stat: "upstream_rq_pending_active",
    pick: "last",
    relation: true
  },
  {
    name: "cluster_lb_healthy_panic_incr",
    help: "Requests load-balanced in panic mode in the minute (increase of lb_healthy_panic)",
    stat: "lb_healthy_panic",
    pick: "increase",
    relation: true
  },
  {
    name: "cluster_up_cx_none_healthy_incr",
    help: "Connections not made for want of a healthy host in the minute (increase of upstream_cx_none_healthy)",
    stat: "upstream_cx_none_healthy",
    pick: "increase",
    relation: true
  }
] as const satisfies ReadonlyArray<{ name: string; help: string; stat: string; pick: Pick; relation: boolean }>

export type ServerStat = (typeof INSTANCE_METRICS)[number]["source"]
export type ClusterStat = (typeof CLUSTER_METRICS)[number]["stat"]

const SERVER_STATS: ReadonlySet<string> = new Set(INSTANCE_METRICS.map((m) => m.source))
/** Cluster stats by name → whether the rules take their increase (counters) rather than their value (gauges). */
const CLUSTER_STATS: ReadonlyMap<string, boolean> = new Map(CLUSTER_METRICS.map((m) => [m.stat, m.pick === "increase"]))

/** The cluster part of a family name: what names its cluster_name (see cluster-name.ts). */
export interface ClusterRef {
  readonly outbound: boolean
  /** Outbound: HOST's first two labels and the subset (version); inbound: "inbound:PORT", no namespace. */
  readonly name: string
  readonly namespace: string
  readonly version: string
}

/** A family a rule reads, with its value: the sum of its metrics' finite values. */
export interface RuleSample {
  readonly family: string
  readonly value: number
}

export interface ServerSample extends RuleSample {
  readonly stat: ServerStat
}

export interface ClusterSample<C> extends RuleSample {
  readonly stat: ClusterStat
  readonly cluster: C
  readonly counter: boolean
}

export interface Extracted<C> {
  readonly server: Array<ServerSample>
  readonly clusters: Array<ClusterSample<C>>
  /** Values of families a rule reads that were NaN or ±Inf: left out, not stored. */
  nonFinite: number
}

const OUTBOUND = "cluster.outbound|"
const INBOUND = "cluster.inbound|"

/**
 * As SkyWalking's ClusterManagerMetricsAdapter: outbound `cluster.outbound|9080|v1|reviews.default.svc…` names
 * `reviews` in namespace `default`, subset `v1` (empty → `*`); inbound `cluster.inbound|9080|…` names `inbound:9080`
 * with namespace `-`. A HOST of fewer than two labels gives `-` for both (SkyWalking's default value).
 */
export const clusterRef = (family: string): ClusterRef | undefined => {
  if (family.startsWith(OUTBOUND)) {
    const port = family.indexOf("|", OUTBOUND.length)
    const subset = port < 0 ? -1 : family.indexOf("|", port + 1)
    if (subset < 0) return undefined
    const host = subset + 1
    const dot1 = family.indexOf(".", host)
    const dot2 = dot1 < 0 ? -1 : family.indexOf(".", dot1 + 1)
    const version = family.slice(port + 1, subset)
    if (dot1 < 0) return { outbound: true, name: "-", namespace: "-", version: "-" }
    const end = dot2 < 0 ? family.length : dot2
    return {
      outbound: true,
      name: family.slice(host, dot1),
      namespace: family.slice(dot1 + 1, end),
      version: version === "" ? "*" : version
    }
  }
  if (family.startsWith(INBOUND)) {
    const bar = family.indexOf("|", INBOUND.length)
    const port = family.slice(INBOUND.length, bar < 0 ? family.length : bar)
    return { outbound: false, name: `inbound:${port}`, namespace: "-", version: "-" }
  }
  return undefined
}

/**
 * The sum of a family's values; undefined when none is usable. The rules read counter and gauge values (a SUMMARY
 * or HISTOGRAM family under a rule's name has none); NaN, ±Inf and missing values are left out and counted.
 */
const familyValue = (family: MetricFamily, out: Extracted<unknown>): number | undefined => {
  if (family.type === "SUMMARY" || family.type === "HISTOGRAM") return undefined
  let sum = 0
  let finite = 0
  for (const m of family.metrics) {
    if (Number.isFinite(m.value)) {
      sum += m.value
      finite++
    } else out.nonFinite++
  }
  return finite > 0 ? sum : undefined
}

/**
 * The samples SkyWalking's Envoy rules read from one message's families. `clusterOf` resolves a cluster family's
 * name (by way of `clusterRef`) to what the caller keeps per cluster; it sees the same names every flush and may
 * cache them.
 */
export const extractRuleSamples = <C>(
  families: ReadonlyArray<MetricFamily>,
  clusterOf: (family: string) => C | undefined
): Extracted<C> => {
  const out: Extracted<C> = { server: [], clusters: [], nonFinite: 0 }
  for (const family of families) {
    const name = family.name
    if (name.startsWith("server.")) {
      if (!SERVER_STATS.has(name)) continue
      const value = familyValue(family, out)
      if (value !== undefined) out.server.push({ family: name, stat: name as ServerStat, value })
    } else if (name.startsWith(OUTBOUND) || name.startsWith(INBOUND)) {
      const stat = name.slice(name.lastIndexOf(".") + 1)
      const counter = CLUSTER_STATS.get(stat)
      if (counter === undefined) continue
      const cluster = clusterOf(name)
      if (cluster === undefined) continue
      const value = familyValue(family, out)
      if (value !== undefined) out.clusters.push({ family: name, stat: stat as ClusterStat, cluster, counter, value })
    }
  }
  return out
}
