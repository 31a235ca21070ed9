// meshsight's own counters, exported at /metrics in Prometheus text format. Updated once per message or per
// stream, never per entry: hot loops count into local numbers and report the sum.
import { type Context, Metric } from "effect"

/** The counters here are declared without attributes; those are given where they are counted. */
interface CounterOptions {
  readonly description: string
  readonly incremental?: boolean
}

/** How each counter below was declared, so that `tallyReporter` can declare it again with attributes fixed. */
const declared = new WeakMap<Metric.Metric<number, unknown>, { readonly name: string; readonly options: CounterOptions }>()

const counter = (name: string, options: CounterOptions): Metric.Counter<number> => {
  const metric = Metric.counter(name, options)
  declared.set(metric, { name, options })
  return metric
}

/**
 * An update of `metric` with `attributes` for synchronous code, in `context` captured once: the counter declared
 * again with the attributes fixed, the same series in the registry. Binding the attributes into the context instead
 * (or `Metric.withAttributes`, which does so on every update) made one metric object meet several attribute sets
 * in turn — a message counts client and server records — and effect 4.1 rebuilds a metric's series key (sorted
 * entries, JSON) each time the attributes it meets change (`key` in Metric.js): ~1 % of the server's CPU at 10
 * streams.
 */
const updaterIn = (
  context: Context.Context<never>,
  metric: Metric.Metric<number, unknown>,
  attributes?: Metric.Metric.AttributeSet
): ((n: number) => void) => {
  if (attributes === undefined) return (n) => metric.updateUnsafe(n, context)
  const origin = declared.get(metric)
  if (origin === undefined) throw new Error(`${metric.id}: a counter with attributes in a tally must be declared in telemetry.ts`)
  const fixed = Metric.counter(origin.name, { ...origin.options, attributes })
  return (n) => fixed.updateUnsafe(n, context)
}

/** A counter, its attributes, and what it counts of a tally `T`. */
export type TallyCounter<T> = readonly [Metric.Metric<number, unknown>, Metric.Metric.AttributeSet | undefined, (tally: T) => number]

/** Adds a tally's non-zero counts to their counters, synchronously (an effect per counter and message showed in profiles). */
export const tallyReporter = <T>(context: Context.Context<never>, counters: ReadonlyArray<TallyCounter<T>>): ((tally: T) => void) => {
  const bound = counters.map(([metric, attributes, count]) => [updaterIn(context, metric, attributes), count] as const)
  return (tally) => {
    for (const [update, count] of bound) {
      const n = count(tally)
      if (n !== 0) update(n)
    }
  }
}

export const streamsOpened = counter("meshsight_als_streams_total", {
  description: "ALS gRPC streams opened",
  incremental: true
})
export const streamsActive = Metric.gauge("meshsight_als_streams_active", { description: "ALS gRPC streams open now" })
export const streamsFailed = counter("meshsight_als_stream_errors_total", {
  description: "ALS streams ended with an error status, by reason",
  incremental: true
})
export const callsRefused = counter("meshsight_grpc_calls_refused_total", {
  description: "gRPC calls refused before their handler ran, by reason (unauthenticated, too_many_streams)",
  incremental: true
})
export const messagesReceived = counter("meshsight_als_messages_total", {
  description: "ALS messages received",
  incremental: true
})
export const entriesReceived = counter("meshsight_als_entries_total", {
  description: "ALS entries decoded, by kind (http, tcp)",
  incremental: true
})
export const entryDecodeFailures = counter("meshsight_als_entry_decode_failures_total", {
  description: "ALS entries skipped because they could not be decoded",
  incremental: true
})
export const entriesSkipped = counter("meshsight_als_entries_skipped_total", {
  description: "ALS entries decoded but not analyzed, by reason (unknown_proxy_role: the node id names no sidecar~, router~ or waypoint~)",
  incremental: true
})
export const messageDecodeFailures = counter("meshsight_als_message_decode_failures_total", {
  description: "ALS messages that could not be decoded (their stream ends with INVALID_ARGUMENT)",
  incremental: true
})
export const identityMisses = counter("meshsight_identity_misses_total", {
  description: "Sides of entries whose workload could not be identified, by side (local, source, destination)",
  incremental: true
})
export const unresolvableAddresses = counter("meshsight_identity_unresolvable_addresses_total", {
  description:
    "Sides of entries whose address k8s-mesh does not look up, by side (local, source, destination) and reason " +
    "(envoy_internal: an Envoy internal address, envoy://…); each is also one of meshsight_identity_misses_total",
  incremental: true
})
export const peerDecodeFailures = counter("meshsight_mx_peer_decode_failures_total", {
  description: "mx-mesh peer metadata values that could not be decoded or named",
  incremental: true
})
export const recordsProduced = counter("meshsight_records_total", {
  description: "Mesh-metric records produced, by detect point (client, server)",
  incremental: true
})
export const recordsDropped = counter("meshsight_records_dropped_total", {
  description: "Mesh-metric records not aggregated, by reason (too_old, future)",
  incremental: true
})
export const seriesRefused = counter("meshsight_series_refused_total", {
  description:
    "New series refused, by reason: minute_limit (their minute already held MESHSIGHT_MAX_SERIES_PER_MINUTE), " +
    "memory (retained data reached its share of MESHSIGHT_MEMORY_LIMIT_MB)",
  incremental: true
})
export const endpointsOverflow = counter("meshsight_endpoints_overflow_total", {
  description:
    "Calls counted under a service's (other) endpoint: it already had MESHSIGHT_MAX_ENDPOINTS_PER_SERVICE distinct endpoints that minute",
  incremental: true
})
export const seriesStored = Metric.gauge("meshsight_store_series", { description: "Series held in the store" })

// Envoy MetricsService (src/pipeline/metrics-pipeline.ts, src/proxy-metrics/).
export const metricsStreamsOpened = counter("meshsight_metrics_streams_total", {
  description: "Envoy MetricsService gRPC streams opened",
  incremental: true
})
export const metricsStreamsActive = Metric.gauge("meshsight_metrics_streams_active", {
  description: "Envoy MetricsService gRPC streams open now"
})
export const metricsStreamsFailed = counter("meshsight_metrics_stream_errors_total", {
  description: "MetricsService streams ended with an error status, by reason",
  incremental: true
})
export const metricsMessagesReceived = counter("meshsight_metrics_messages_total", {
  description: "MetricsService messages received",
  incremental: true
})
export const metricFamiliesReceived = counter("meshsight_metrics_families_total", {
  description: "Prometheus metric families decoded from MetricsService messages",
  incremental: true
})
export const metricsSkipped = counter("meshsight_metrics_skipped_total", {
  description:
    "MetricsService data left out, by reason: family_decode (a family that could not be read, or of an unknown type), " +
    "non_finite (a NaN, ±Inf or missing value), unidentified_stream (a stream whose node names no service or instance), " +
    "instance_limit, cluster_limit, unnamed_cluster",
  incremental: true
})
export const proxyInstancesStored = Metric.gauge("meshsight_proxy_instances", {
  description: "Proxy instances whose MetricsService data is held"
})

export const errorLogsKept = counter("meshsight_error_logs_total", {
  description: "Failed entries kept as error logs (the `persistence` analyzer)",
  incremental: true
})
export const errorLogsDropped = counter("meshsight_error_logs_dropped_total", {
  description:
    "Error logs let go, by reason (rate_limited: past MESHSIGHT_ERROR_LOG_RATE_PER_MINUTE; evicted: past the in-memory caps; queue_full, write_failed: PostgreSQL)",
  incremental: true
})

// The Istio-standard export (src/export/): /metrics/mesh and remote write.
export const meshSeries = Metric.gauge("meshsight_mesh_series", {
  description: "Label sets of the Istio-standard metrics held for /metrics/mesh and remote write"
})
export const meshSeriesRefused = counter("meshsight_mesh_series_refused_total", {
  description: "Records not exported because a new label set would pass MESHSIGHT_MESH_METRICS_MAX_SERIES",
  incremental: true
})
export const meshSeriesEvicted = counter("meshsight_mesh_series_evicted_total", {
  description: "Label sets dropped after MESHSIGHT_MESH_METRICS_IDLE_MINUTES without a record",
  incremental: true
})
export const remoteWriteSamplesSent = counter("meshsight_remote_write_samples_sent_total", {
  description: "Samples the remote-write endpoint accepted, by endpoint",
  incremental: true
})
export const remoteWriteFailed = counter("meshsight_remote_write_samples_failed_total", {
  description: "Samples in requests the endpoint refused with a 4xx other than 429 (not retried), by endpoint",
  incremental: true
})
export const remoteWriteSamplesDropped = counter("meshsight_remote_write_samples_dropped_total", {
  description: "Samples dropped, oldest first, because the queue held MESHSIGHT_REMOTE_WRITE_QUEUE_SAMPLES, by endpoint",
  incremental: true
})
export const remoteWriteRetries = counter("meshsight_remote_write_retries_total", {
  description: "Remote-write requests retried after a network error, timeout, 5xx or 429, by endpoint",
  incremental: true
})
export const remoteWriteQueueSamples = Metric.gauge("meshsight_remote_write_queue_samples", {
  description: "Samples waiting to be sent, by endpoint"
})
export const remoteWriteLastSuccess = Metric.gauge("meshsight_remote_write_last_success_timestamp_seconds", {
  description: "When the endpoint last accepted a request (Unix seconds), by endpoint"
})

// Storage mode `prometheus` (src/export/minute-writer.ts, src/query/tsdb-query.ts).
export const minuteSeriesWritten = counter("meshsight_minute_samples_written_total", {
  description: "meshsight_minute_* samples queued for remote write (each minute's series, once the minute is over)",
  incremental: true
})
export const minuteSamplesLate = counter("meshsight_minute_late_writes_total", {
  description: "Writes of a minute already written (records that came late; the TSDB must take out-of-order samples)",
  incremental: true
})
export const storageQueryFailures = counter("meshsight_storage_query_failures_total", {
  description: "PromQL queries to MESHSIGHT_PROMETHEUS_URL that failed (unreachable, timeout, error answer)",
  incremental: true
})

// The memory budget (src/memory/budget.ts).
export const memoryBudgetBytes = Metric.gauge("meshsight_memory_budget_bytes", {
  description: "The memory budget (MESHSIGHT_MEMORY_LIMIT_MB); new series and streams are refused once retained data reaches half of it"
})
export const idleCollections = counter("meshsight_idle_collections_total", {
  description: "Full garbage collections run once the process went quiet after work (MESHSIGHT_IDLE_GC_AFTER_MS)",
  incremental: true
})
export const memoryUsedBytes = Metric.gauge("meshsight_memory_used_bytes", {
  description: "Estimated bytes retained, by part (series, memo, peers, streams)"
})
export const stringsTruncated = counter("meshsight_strings_truncated_total", {
  description: "Strings from proxies cut short (over 4096 bytes decoded, or a name over 1024 characters), ending in …",
  incremental: true
})
