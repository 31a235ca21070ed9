// The JSON query API's response shapes (served under /api, consumed by the web UI). Times are epoch milliseconds;
// a range is [start, end) in whole minutes. Metric names in comments are SkyWalking's, for comparison.
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

/** GET /api/services?start=&end=&namespace= */
export const ServiceList = Schema.Struct({ range: TimeRange, services: Schema.Array(ServiceItem) })
export type ServiceList = typeof ServiceList.Type

export const NamedMetrics = Schema.Struct({ name: Schema.String, metrics: MetricSummary })
export type NamedMetrics = typeof NamedMetrics.Type

/** GET /api/services/:service/instances and /endpoints */
export const InstanceList = Schema.Struct({ range: TimeRange, service: Schema.String, instances: Schema.Array(NamedMetrics) })
export type InstanceList = typeof InstanceList.Type
export const EndpointList = Schema.Struct({ range: TimeRange, service: Schema.String, endpoints: Schema.Array(NamedMetrics) })
export type EndpointList = typeof EndpointList.Type

/** A relation seen from the client side, the server side, or both (null where that side reported nothing). */
export const Edge = Schema.Struct({
  source: Schema.String,
  target: Schema.String,
  client: Schema.NullOr(MetricSummary),
  server: Schema.NullOr(MetricSummary)
})
export type Edge = typeof Edge.Type

/** GET /api/topology?start=&end=&namespace= ; GET /api/services/:service/topology gives its neighbourhood. */
export const Topology = Schema.Struct({ range: TimeRange, nodes: Schema.Array(ServiceItem), edges: Schema.Array(Edge) })
export type Topology = typeof Topology.Type

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

/** Every error answer: 400 bad parameter, 404 unknown service or route, 500 otherwise. */
export const ApiError = Schema.Struct({ error: Schema.String })
