// The JSON query API's response shapes (served under /api, consumed by the web UI). Times are epoch milliseconds;
// a range is [start, end) in whole minutes. Metric names in comments are SkyWalking's, for comparison.
//
// What a range's figures mean: counts (`calls`, `connections`, bytes) are totals over the range; per-minute rates
// (`cpm`, `*PerMin`) are means over the minutes of the range that have data of that kind (`callMinutes`,
// `tcpMinutes`), so that a range's rate equals the mean of the per-minute chart's points; ratios (`sla`,
// `respTimeMs`, `apdex`, percentiles) are over every call of the range, so each minute weighs by its calls. In a
// series point (one minute) the same fields describe that minute: `cpm` is its calls, `*PerMin` its totals.
import { Schema } from "effect"
import { MetricSummary } from "../domain/metric-summary.ts"

export { MetricSummary } from "../domain/metric-summary.ts"

export const TimeRange = Schema.Struct({ start: Schema.Number, end: Schema.Number })
export type TimeRange = typeof TimeRange.Type

export const ServiceItem = Schema.Struct({
  name: Schema.String,
  namespace: Schema.String,
  /** Server-side metrics (null when the service was only seen calling others). */
  metrics: Schema.NullOr(MetricSummary)
})
export type ServiceItem = typeof ServiceItem.Type

/**
 * The cursor of a list's next page (`cursor=` on the next request, with the same range and `limit`); null on the
 * last page. Lists are ordered by name, in UTF-16 code units (src/query/page.ts).
 */
export const NextCursor = Schema.NullOr(Schema.String)

/** GET /api/services?start=&end=&namespace=&limit=&cursor= */
export const ServiceList = Schema.Struct({ range: TimeRange, services: Schema.Array(ServiceItem), nextCursor: NextCursor })
export type ServiceList = typeof ServiceList.Type

export const NamedMetrics = Schema.Struct({ name: Schema.String, metrics: MetricSummary })
export type NamedMetrics = typeof NamedMetrics.Type

/** GET /api/services/:service/instances and /endpoints (?start=&end=&limit=&cursor=) */
export const InstanceList = Schema.Struct({
  range: TimeRange,
  service: Schema.String,
  instances: Schema.Array(NamedMetrics),
  nextCursor: NextCursor
})
export type InstanceList = typeof InstanceList.Type
export const EndpointList = Schema.Struct({
  range: TimeRange,
  service: Schema.String,
  endpoints: Schema.Array(NamedMetrics),
  nextCursor: NextCursor
})
export type EndpointList = typeof EndpointList.Type

/** A relation seen from the client side, the server side, or both (null where that side reported nothing). */
export const Edge = Schema.Struct({
  source: Schema.String,
  target: Schema.String,
  client: Schema.NullOr(MetricSummary),
  server: Schema.NullOr(MetricSummary)
})
export type Edge = typeof Edge.Type

/**
 * GET /api/topology?start=&end=&namespace= ; GET /api/services/:service/topology gives its neighbourhood.
 * At most MAX_TOPOLOGY_ITEMS (5000) nodes and as many edges, the first by name; `truncated` when there were more.
 */
export const Topology = Schema.Struct({
  range: TimeRange,
  nodes: Schema.Array(ServiceItem),
  edges: Schema.Array(Edge),
  truncated: Schema.Boolean
})
export type Topology = typeof Topology.Type

/** An instance (a pod, a VM) as a node of the instance-level topology; metrics are its server side (null when it only called). */
export const InstanceNode = Schema.Struct({
  service: Schema.String,
  instance: Schema.String,
  namespace: Schema.String,
  metrics: Schema.NullOr(MetricSummary)
})
export type InstanceNode = typeof InstanceNode.Type

/** Calls from one instance to another, as each side's proxy reported them (`*_relation` of instances). */
export const InstanceEdge = Schema.Struct({
  source: Schema.String,
  sourceInstance: Schema.String,
  target: Schema.String,
  targetInstance: Schema.String,
  client: Schema.NullOr(MetricSummary),
  server: Schema.NullOr(MetricSummary)
})
export type InstanceEdge = typeof InstanceEdge.Type

/**
 * GET /api/instance-topology?start=&end=&namespace= : the topology one level down, instances and the calls between
 * them; a namespace keeps its instances and those at the far end of calls into or out of it.
 */
export const InstanceTopology = Schema.Struct({ range: TimeRange, nodes: Schema.Array(InstanceNode), edges: Schema.Array(InstanceEdge) })
export type InstanceTopology = typeof InstanceTopology.Type

export const Scope = Schema.Literals(["service", "instance", "endpoint", "serviceRelation", "instanceRelation"])
export type Scope = typeof Scope.Type

export const SeriesPoint = Schema.Struct({ time: Schema.Number, metrics: Schema.NullOr(MetricSummary) })
export type SeriesPoint = typeof SeriesPoint.Type

/**
 * GET /api/series?scope=service&service=S
 *     ?scope=instance&service=S&instance=I · ?scope=endpoint&service=S&endpoint=E
 *     ?scope=serviceRelation&source=S&target=T&detectPoint=client|server
 *     ?scope=instanceRelation&source=S&sourceInstance=I&target=T&targetInstance=J&detectPoint=…
 * One point per minute of the range, metrics null for minutes with no calls.
 */
export const Series = Schema.Struct({ range: TimeRange, scope: Scope, points: Schema.Array(SeriesPoint) })
export type Series = typeof Series.Type

/**
 * GET /api/status: how this meshsight listens, for the UI's first-run page. Ports are the bound ones (the
 * configured port, or the one the system chose for a configured 0).
 */
export const Status = Schema.Struct({
  /** The main gRPC port (ALS, and the gRPC health service). */
  grpcPort: Schema.Number,
  /** Where Envoy's access logs go: `grpcPort` unless a dedicated ALS port is configured. */
  alsPort: Schema.Number,
  /** How many minutes of metrics are kept: the longest useful range. */
  retentionMinutes: Schema.Number
})
export type Status = typeof Status.Type

/** Every error answer: 400 bad parameter, 404 unknown service or route, 500 otherwise. */
export const ApiError = Schema.Struct({ error: Schema.String })
