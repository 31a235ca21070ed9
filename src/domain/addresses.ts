// Which address stands for which workload of an entry (docs/design.md §3), for analyzers that identify by IP.
import type { AccessLog, Address } from "./access-log.ts"
import type { ReportingNode } from "./node.ts"

export interface EntryAddresses {
  readonly local: Address | undefined
  readonly downstream: Address | undefined
  readonly upstream: Address | undefined
}

/**
 * Envoy marks the server side of a sidecar by the `inbound|PORT|…` cluster; Istio's passthrough for inbound
 * traffic to ports without a Service (`InboundPassthroughCluster[Ipv4|Ipv6]`) is server side too.
 */
export const isInboundCluster = (cluster: string): boolean =>
  cluster.startsWith("inbound|") || cluster.startsWith("InboundPassthroughCluster")

/**
 * The caller is `downstream_direct_remote_address` when set (the peer of the connection, before any
 * X-Forwarded-For rewriting), else `downstream_remote_address`. The reporting workload is the address the call
 * arrived at (`downstream_local_address`) — except on a sidecar's outbound side, where iptables interception makes
 * the local application the downstream: there the workload is `downstream_remote_address`. A waypoint (ambient
 * mode) receives its calls through HBONE tunnels and internal listeners, so its entries' local address is not its
 * own: the waypoint is the address its node metadata gives (`INSTANCE_IPS`).
 */
export const entryAddresses = (node: ReportingNode, e: AccessLog): EntryAddresses => {
  const c = e.common
  const caller = c.downstreamDirectRemoteAddress ?? c.downstreamRemoteAddress
  const outboundSidecar = node.role === "sidecar" && !isInboundCluster(c.upstreamCluster)
  return {
    local: node.waypointAddress ?? (outboundSidecar ? caller : c.downstreamLocalAddress),
    downstream: caller,
    upstream: c.upstreamRemoteAddress
  }
}
