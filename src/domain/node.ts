// The reporting proxy of a stream, parsed once from the stream's first message.
import type { Address, NodeInfo } from "./access-log.ts"

export type ProxyRole = "sidecar" | "proxy" | "waypoint"

export interface ReportingNode {
  readonly info: NodeInfo
  readonly role: ProxyRole
  /** From the node id `ROLE~IP~POD.NAMESPACE~NAMESPACE.svc.cluster.local`; "" when the id has another shape. */
  readonly ip: string
  readonly podName: string
  readonly namespace: string
  /**
   * A waypoint's own address: the first of the node metadata's `INSTANCE_IPS` (comma-separated, as Istio's
   * agent sets it), else the node id's IP. Undefined for other roles: their entries carry the local address.
   */
  readonly waypointAddress: Address | undefined
}

/** Istio's node id prefixes: `router` is a gateway (reported as role proxy, as SkyWalking does). */
const ROLES: Record<string, ProxyRole> = { sidecar: "sidecar", router: "proxy", waypoint: "waypoint" }

export const parseNode = (info: NodeInfo): ReportingNode => {
  const parts = info.id.split("~")
  const role = ROLES[parts[0]] ?? "sidecar"
  const ip = parts.length === 4 ? parts[1] : ""
  let podName = ""
  let namespace = ""
  if (parts.length === 4) {
    const dot = parts[2].lastIndexOf(".")
    podName = dot > 0 ? parts[2].slice(0, dot) : parts[2]
    namespace = dot > 0 ? parts[2].slice(dot + 1) : parts[3].split(".")[0]
  }
  const instanceIps = info.metadata.INSTANCE_IPS
  const ownIp = (typeof instanceIps === "string" ? instanceIps.split(",")[0].trim() : "") || ip
  const waypointAddress = role === "waypoint" && ownIp !== "" ? { ip: ownIp, port: 0 } : undefined
  return { info, role, ip, podName, namespace, waypointAddress }
}
