// Istio < 1.24 logs peer metadata as `wasm.upstream_peer` / `wasm.downstream_peer`: a BytesValue whose bytes are a
// FlatBuffer `FlatNode` (istio/proxy extensions/common/node_info.fbs). We read it into the same keys Istio uses in
// node metadata, so one naming rule covers both encodings.
import { ByteBuffer } from "flatbuffers"
import type { JsonObject } from "../../domain/access-log.ts"

/** FlatNode's fields in slot order (a field's vtable offset is 4 + 2 × slot). */
const Slot = {
  name: 0,
  namespace: 1,
  labels: 2,
  owner: 3,
  workloadName: 4,
  platformMetadata: 5,
  istioVersion: 6,
  meshId: 7,
  appContainers: 8,
  clusterId: 9
} as const

const vtableOffset = (slot: number) => 4 + 2 * slot

const readString = (bb: ByteBuffer, table: number, slot: number): string | undefined => {
  const off = bb.__offset(table, vtableOffset(slot))
  return off === 0 ? undefined : (bb.__string(table + off) as string)
}

/** A vector of `KeyVal { key: string; value: string }` tables → a record. */
const readKeyVals = (bb: ByteBuffer, table: number, slot: number): Record<string, string> | undefined => {
  const off = bb.__offset(table, vtableOffset(slot))
  if (off === 0) return undefined
  const out: Record<string, string> = {}
  const start = bb.__vector(table + off)
  const len = bb.__vector_len(table + off)
  for (let i = 0; i < len; i++) {
    const kv = bb.__indirect(start + i * 4)
    const key = readString(bb, kv, 0)
    if (key !== undefined) out[key] = readString(bb, kv, 1) ?? ""
  }
  return out
}

const readStrings = (bb: ByteBuffer, table: number, slot: number): Array<string> | undefined => {
  const off = bb.__offset(table, vtableOffset(slot))
  if (off === 0) return undefined
  const start = bb.__vector(table + off)
  const len = bb.__vector_len(table + off)
  return Array.from({ length: len }, (_, i) => bb.__string(start + i * 4) as string)
}

/**
 * Decodes a FlatNode into node-metadata keys. The FlatBuffers runtime does not bounds-check, so a corrupt buffer
 * surfaces as a RangeError (or garbage the metadata schema then rejects); callers treat both as an unknown peer.
 */
export const decodeFlatNode = (bytes: Uint8Array): JsonObject => {
  if (bytes.length < 8) throw new RangeError("FlatNode shorter than a FlatBuffer header")
  const bb = new ByteBuffer(bytes)
  const table = bb.readInt32(bb.position()) + bb.position()
  const out: Record<string, JsonObject[string]> = {}
  const set = (key: string, value: JsonObject[string] | undefined) => {
    if (value !== undefined) out[key] = value
  }
  set("NAME", readString(bb, table, Slot.name))
  set("NAMESPACE", readString(bb, table, Slot.namespace))
  set("LABELS", readKeyVals(bb, table, Slot.labels))
  set("OWNER", readString(bb, table, Slot.owner))
  set("WORKLOAD_NAME", readString(bb, table, Slot.workloadName))
  set("PLATFORM_METADATA", readKeyVals(bb, table, Slot.platformMetadata))
  set("ISTIO_VERSION", readString(bb, table, Slot.istioVersion))
  set("MESH_ID", readString(bb, table, Slot.meshId))
  set("APP_CONTAINERS", readStrings(bb, table, Slot.appContainers))
  set("CLUSTER_ID", readString(bb, table, Slot.clusterId))
  return out
}
