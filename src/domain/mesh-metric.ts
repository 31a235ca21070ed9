// The analysis stage's output: one record per side of a call, as SkyWalking's ServiceMeshMetric.
import type { AccessLog } from "./access-log.ts"
import type { WorkloadIdentity } from "./identity.ts"
import type { ProxyRole } from "./node.ts"

export type DetectPoint = "client" | "server"
export type MeshProtocol = "HTTP" | "gRPC" | "TCP"
export type TlsMode = "NONE" | "TLS" | "mTLS"

/** The service name SkyWalking gives a gateway's caller from outside the mesh. */
export const UNKNOWN_SERVICE = "UNKNOWN"

export interface MeshMetric {
  readonly role: ProxyRole
  readonly detectPoint: DetectPoint
  /** `undefined` when the caller is unknown (no relation is kept then). */
  readonly source: WorkloadIdentity | undefined
  readonly destination: WorkloadIdentity
  /** `METHOD:path` for HTTP and gRPC, "" for TCP. */
  readonly endpoint: string
  /** The endpoint was named by a grouping rule (exempt from the per-service endpoint cap). */
  readonly endpointGrouped: boolean
  readonly startTimeMs: number
  readonly endTimeMs: number
  readonly latencyMs: number
  readonly responseCode: number
  readonly success: boolean
  readonly protocol: MeshProtocol
  readonly tlsMode: TlsMode
  /** First set response flag (`no_healthy_upstream`, …), "" when none. */
  readonly internalErrorCode: string
  readonly receivedBytes: number
  readonly sentBytes: number
  /** Time the proxy spent before sending the request upstream; `undefined` when Envoy did not log it. */
  readonly sidecarInternalReqLatencyNs: number | undefined
  /** Time the proxy spent between the upstream's first byte and its own first byte downstream. */
  readonly sidecarInternalRespLatencyNs: number | undefined
  /**
   * The entry the record came from (both records of a gateway or waypoint entry share it): what the Istio-standard
   * export reads beyond SkyWalking's fields (upstream cluster, authority, all response flags, sizes, certificates).
   */
  readonly entry?: AccessLog
}
