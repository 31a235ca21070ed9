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
const ROLES: ReadonlyMap<string, ProxyRole> = new Map([
  ["sidecar", "sidecar"],
  ["router", "proxy"],
  ["waypoint", "waypoint"]
])

/**
 * The role a node id's prefix names, or `undefined` for any other id (not an Istio proxy, or a role meshsight
 * cannot read sides for): such a stream's entries are skipped (SkyWalking's role NONE, which its k8s-mesh skips).
 */
export const proxyRole = (nodeId: string): ProxyRole | undefined => {
  const tilde = nodeId.indexOf("~")
  return tilde < 0 ? undefined : ROLES.get(nodeId.slice(0, tilde))
}

export class UnknownProxyRole extends Error {
  override readonly name = "UnknownProxyRole"
}

/** For a node whose role is known (`proxyRole`); throws UnknownProxyRole otherwise. */
export const parseNode = (info: NodeInfo): ReportingNode => {
  const role = proxyRole(info.id)
  if (role === undefined) throw new UnknownProxyRole(`node id ${JSON.stringify(info.id)} names no Istio proxy role`)
  const parts = info.id.split("~")
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
