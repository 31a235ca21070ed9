// The workload keys of Istio's node metadata, which are also the keys of its peer metadata (both encodings).
import { Schema } from "effect"

const Text = Schema.optionalKey(Schema.String)

/** Decoded once per stream (node metadata) and once per distinct peer value (cached), never per entry. */
export const IstioMetadata = Schema.Struct({
  NAME: Text,
  NAMESPACE: Text,
  LABELS: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  WORKLOAD_NAME: Text,
  OWNER: Text,
  CLUSTER_ID: Text,
  MESH_ID: Text,
  INSTANCE_IPS: Text,
  SERVICE: Text
})
export type IstioMetadata = typeof IstioMetadata.Type

export const decodeIstioMetadata = Schema.decodeUnknownOption(IstioMetadata)
