// Who is on each side of a request. `undefined` means unknown: a value, not an error.
import { Schema } from "effect"

export const WorkloadIdentity = Schema.Struct({
  service: Schema.String,
  instance: Schema.String,
  namespace: Schema.String,
  labels: Schema.Record(Schema.String, Schema.String),
  /** Istio's workload name (the Deployment, StatefulSet, … behind the pod), for the Istio-standard labels. */
  workload: Schema.optionalKey(Schema.String),
  /** The cluster the workload runs in (Istio's CLUSTER_ID). */
  cluster: Schema.optionalKey(Schema.String),
  /** The workload's SPIFFE identity, when the analyzer knows it. */
  principal: Schema.optionalKey(Schema.String)
})
export type WorkloadIdentity = typeof WorkloadIdentity.Type

/** The three workloads an access log entry can name, as seen by the proxy that reported it. */
export interface EntrySides {
  /** The workload whose proxy reported the entry. */
  local: WorkloadIdentity | undefined
  /** The caller: the downstream peer. */
  downstream: WorkloadIdentity | undefined
  /** The callee: the upstream peer. */
  upstream: WorkloadIdentity | undefined
}

export const emptySides = (): EntrySides => ({ local: undefined, downstream: undefined, upstream: undefined })
