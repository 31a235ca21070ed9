// A mesh-metric record as the analyze stage makes it — a successful server-side HTTP call frontend → cart of 100 ms
// starting at `startTimeMs` — with any field overridden: the aggregation, query, export and memory tests' input.
import type { MeshMetric } from "../../src/domain/mesh-metric.ts"
import { workload } from "./ip-table-analyzer.ts"

export const meshMetric = (over: Partial<MeshMetric> & { readonly startTimeMs: number }): MeshMetric => ({
  role: "sidecar",
  detectPoint: "server",
  source: workload("frontend"),
  destination: workload("cart"),
  endpoint: "GET:/cart",
  endpointGrouped: false,
  endTimeMs: over.startTimeMs + (over.latencyMs ?? 100),
  latencyMs: 100,
  responseCode: 200,
  success: true,
  protocol: "HTTP",
  tlsMode: "mTLS",
  internalErrorCode: "",
  receivedBytes: 0,
  sentBytes: 0,
  sidecarInternalReqLatencyNs: undefined,
  sidecarInternalRespLatencyNs: undefined,
  ...over
})
