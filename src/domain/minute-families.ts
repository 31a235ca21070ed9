// meshsight's own per-minute series in a Prometheus-compatible TSDB (storage mode `prometheus`, docs/scale-out.md):
// every count a SeriesStats keeps becomes a gauge sample per entity and minute, so that summing the samples of any
// minutes and replicas gives back exactly the SeriesStats the memory store would hold. The write side
// (src/export/minute-writer.ts) and the query side (src/query/tsdb-query.ts) share this table.
import type { Entity } from "./series.ts"
import type { SeriesStats } from "./series-stats.ts"

/** One sample of an entity's minute: a family, the value of its extra label (if the family has one), the count. */
export type FamilySample = readonly [family: MinuteFamily, labelValue: string, value: number]

export interface MinuteFamily {
  readonly name: string
  /** The label that splits the family (status code, response flag, …), if any. */
  readonly label?: string
  /** The samples of one SeriesStats: [extra label value, value] ("" without an extra label); zeros are left out. */
  readonly read: (s: SeriesStats) => ReadonlyArray<readonly [string, number]>
  /** Adds a summed sample back into a SeriesStats. */
  readonly add: (s: SeriesStats, labelValue: string, value: number) => void
}

const one = (n: number): ReadonlyArray<readonly [string, number]> => (n === 0 ? [] : [["", n]])

const family = (
  name: string,
  read: (s: SeriesStats) => number,
  add: (s: SeriesStats, value: number) => void,
  always = false
): MinuteFamily => ({
  name,
  read: always ? (s) => [["", read(s)]] : (s) => one(read(s)),
  add: (s, _, v) => add(s, v)
})

/** SeriesStats' plain number fields: one family each, read and added by name. */
type CountField = "calls" | "successes" | "latencySumMs" | "sidecarReqNsSum" | "sidecarReqCount" | "sidecarRespNsSum" | "sidecarRespCount"
const count = (name: string, field: CountField, always = false): MinuteFamily =>
  family(
    name,
    (s) => s[field],
    (s, v) => {
      s[field] += v
    },
    always
  )

const tcpOf = (s: SeriesStats) => (s.tcp ??= { connections: 0, receivedBytes: 0, sentBytes: 0 })

/**
 * `meshsight_minute_calls` is written for every entity and minute the entity has a series in, even at 0 (a TCP-only
 * series), so that it tells which entities a range holds. TCP counts are written whenever a series has TCP data
 * (`tcp_connections` even at 0), so that a TCP series reads back as one.
 */
export const CALLS = count("meshsight_minute_calls", "calls", true)
export const TCP_CONNECTIONS: MinuteFamily = {
  name: "meshsight_minute_tcp_connections",
  read: (s) => (s.tcp === undefined ? [] : [["", s.tcp.connections]]),
  add: (s, _, v) => {
    tcpOf(s).connections += v
  }
}

/** The log-linear latency bucket's index (src/domain/latency-histogram.ts) is the `bucket` label: exact round trip. */
export const LATENCY_BUCKET: MinuteFamily = {
  name: "meshsight_minute_latency_bucket_calls",
  label: "bucket",
  read: (s) => [...s.latency.counts].map(([bucket, n]) => [String(bucket), n] as const),
  add: (s, bucket, n) => {
    if (n > 0) s.latency.add(Number(bucket), n)
  }
}

export const MINUTE_FAMILIES: ReadonlyArray<MinuteFamily> = [
  CALLS,
  count("meshsight_minute_successes", "successes"),
  count("meshsight_minute_latency_ms_sum", "latencySumMs"),
  LATENCY_BUCKET,
  family(
    "meshsight_minute_apdex_satisfied",
    (s) => s.apdex?.[0] ?? 0,
    (s, v) => {
      if (s.apdex !== undefined) s.apdex[0] += v
    }
  ),
  family(
    "meshsight_minute_apdex_tolerating",
    (s) => s.apdex?.[1] ?? 0,
    (s, v) => {
      if (s.apdex !== undefined) s.apdex[1] += v
    }
  ),
  {
    name: "meshsight_minute_status_calls",
    label: "code",
    read: (s) => Object.entries(s.statusCodeCounts()),
    add: (s, code, n) => s.addCode(Number(code), n)
  },
  {
    name: "meshsight_minute_response_flag_records",
    label: "flag",
    read: (s) => [...(s.responseFlags ?? [])],
    add: (s, flag, n) => {
      const flags = (s.responseFlags ??= new Map())
      flags.set(flag, (flags.get(flag) ?? 0) + n)
    }
  },
  {
    name: "meshsight_minute_protocol_calls",
    label: "protocol",
    read: (s) =>
      (
        [
          ["HTTP", s.httpCalls],
          ["gRPC", s.grpcCalls]
        ] as const
      ).filter(([, n]) => n > 0),
    add: (s, protocol, n) => {
      if (protocol === "gRPC") s.grpcCalls += n
      else s.httpCalls += n
    }
  },
  TCP_CONNECTIONS,
  family(
    "meshsight_minute_tcp_received_bytes",
    (s) => s.tcp?.receivedBytes ?? 0,
    (s, v) => {
      tcpOf(s).receivedBytes += v
    }
  ),
  family(
    "meshsight_minute_tcp_sent_bytes",
    (s) => s.tcp?.sentBytes ?? 0,
    (s, v) => {
      tcpOf(s).sentBytes += v
    }
  ),
  count("meshsight_minute_sidecar_request_latency_ns_sum", "sidecarReqNsSum"),
  count("meshsight_minute_sidecar_request_latency_count", "sidecarReqCount"),
  count("meshsight_minute_sidecar_response_latency_ns_sum", "sidecarRespNsSum"),
  count("meshsight_minute_sidecar_response_latency_count", "sidecarRespCount")
]

/** The labels that name an entity, by scope (Prometheus label names: snake case). */
export const ENTITY_LABELS = [
  "scope",
  "service",
  "namespace",
  "instance",
  "endpoint",
  "detect_point",
  "source",
  "source_namespace",
  "source_instance",
  "target",
  "target_namespace",
  "target_instance"
] as const
export type EntityLabel = (typeof ENTITY_LABELS)[number]

/** An entity's labels; empty values are left out (Prometheus drops a label whose value is empty). */
export const entityLabels = (e: Entity): Array<readonly [EntityLabel, string]> => {
  const pairs: Array<readonly [EntityLabel, string]> = [["scope", e.scope]]
  switch (e.scope) {
    case "service":
      pairs.push(["service", e.service], ["namespace", e.namespace])
      break
    case "instance":
      pairs.push(["service", e.service], ["namespace", e.namespace], ["instance", e.instance])
      break
    case "endpoint":
      pairs.push(["service", e.service], ["namespace", e.namespace], ["endpoint", e.endpoint])
      break
    case "serviceRelation":
      pairs.push(
        ["detect_point", e.detectPoint],
        ["source", e.source],
        ["source_namespace", e.sourceNamespace],
        ["target", e.target],
        ["target_namespace", e.targetNamespace]
      )
      break
    case "instanceRelation":
      pairs.push(
        ["detect_point", e.detectPoint],
        ["source", e.source],
        ["source_instance", e.sourceInstance],
        ["target", e.target],
        ["target_instance", e.targetInstance]
      )
  }
  return pairs.filter(([, v]) => v !== "")
}

/** The entity named by a result's labels; undefined for labels no meshsight wrote. */
export const entityOf = (labels: Readonly<Record<string, string>>): Entity | undefined => {
  const l = (name: EntityLabel) => labels[name] ?? ""
  const detectPoint = l("detect_point")
  switch (l("scope")) {
    case "service":
      return { scope: "service", service: l("service"), namespace: l("namespace") }
    case "instance":
      return { scope: "instance", service: l("service"), namespace: l("namespace"), instance: l("instance") }
    case "endpoint":
      return { scope: "endpoint", service: l("service"), namespace: l("namespace"), endpoint: l("endpoint") }
    case "serviceRelation":
      if (detectPoint !== "client" && detectPoint !== "server") return undefined
      return {
        scope: "serviceRelation",
        detectPoint,
        source: l("source"),
        sourceNamespace: l("source_namespace"),
        target: l("target"),
        targetNamespace: l("target_namespace")
      }
    case "instanceRelation":
      if (detectPoint !== "client" && detectPoint !== "server") return undefined
      return {
        scope: "instanceRelation",
        detectPoint,
        source: l("source"),
        sourceInstance: l("source_instance"),
        target: l("target"),
        targetInstance: l("target_instance")
      }
    default:
      return undefined
  }
}
