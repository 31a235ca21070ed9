// The workload keys of Istio's node metadata. Peer metadata arrives in three shapes, all read into these keys:
// node metadata itself (the reporting proxy), older Istio's FlatNode (./flat-node.ts) and Istio ≥ 1.24's Struct
// (`peerStructToNodeKeys` below).
import { Schema } from "effect"
import type { JsonObject, JsonValue } from "../../domain/access-log.ts"

const Text = Schema.optionalKey(Schema.String)

/** Decoded once per stream (node metadata) and once per distinct peer value (cached), never per entry. */
export const IstioMetadata = Schema.Struct({
  /** Pod name. */
  NAME: Text,
  NAMESPACE: Text,
  /** Pod labels; for a peer, Istio's workload labels (canonical name and revision, app, version) and any extras. */
  LABELS: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  WORKLOAD_NAME: Text,
  /** `kubernetes://apis/apps/v1/namespaces/NS/KINDs/WORKLOAD`: the workload's kind. */
  OWNER: Text,
  CLUSTER_ID: Text,
  MESH_ID: Text,
  INSTANCE_IPS: Text,
  SERVICE: Text,
  /** The peer's SPIFFE identity (Istio ≥ 1.24 peers only). */
  IDENTITY: Text
})
export type IstioMetadata = typeof IstioMetadata.Type

export const decodeIstioMetadata = Schema.decodeUnknownOption(IstioMetadata)

/** Istio's workload label names (istio/proxy extensions/common/metadata_object.h). */
const CANONICAL_NAME = "service.istio.io/canonical-name"
const CANONICAL_REVISION = "service.istio.io/canonical-revision"

const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v)

/**
 * Istio ≥ 1.24 logs a peer as the Struct of `WorkloadMetadataObject::serializeAsProto` (istio/proxy
 * extensions/common/metadata_object.cc): lowercase keys `name`, `namespace`, `cluster`, `workload`, `type`,
 * `service` (canonical name), `revision` (canonical revision), `app`, `version`, `identity`, and `labels` holding
 * only extra labels. We add the node-metadata keys the way Istio's own `convertWorkloadMetadataToStruct` maps that
 * object back (the canonical name, revision, app and version become LABELS), so the default naming rule picks the
 * canonical service first for every shape, exactly as it does for node metadata and FlatNode peers. The original
 * keys stay, so a custom rule may name them (rules match keys ignoring case). A key already present — a Struct
 * with node-metadata keys, as test fixtures once sent — is left alone.
 */
export const peerStructToNodeKeys = (peer: JsonObject): JsonObject => {
  const out: Record<string, JsonValue> = { ...peer }
  const copy = (to: string, from: string) => {
    const value = peer[from]
    if (out[to] === undefined && value !== undefined) out[to] = value
  }
  copy("NAME", "name")
  copy("NAMESPACE", "namespace")
  copy("CLUSTER_ID", "cluster")
  copy("WORKLOAD_NAME", "workload")
  copy("IDENTITY", "identity")
  const { namespace, type, workload } = peer
  if (out.OWNER === undefined && typeof type === "string" && typeof namespace === "string" && typeof workload === "string") {
    out.OWNER = `kubernetes://apis/apps/v1/namespaces/${namespace}/${type}s/${workload}`
  }
  if (out.LABELS === undefined) {
    const labels: Record<string, JsonValue> = isObject(peer.labels) ? { ...peer.labels } : {}
    for (const [label, key] of [
      [CANONICAL_NAME, "service"],
      [CANONICAL_REVISION, "revision"],
      ["app", "app"],
      ["version", "version"]
    ]) {
      if (peer[key] !== undefined) labels[label] = peer[key]
    }
    if (Object.keys(labels).length > 0) out.LABELS = labels
  }
  return out
}
