// meshsight's trimmed protos (proto/) loaded with protobufjs, and the wire type each field arrives with.
import { isAbsolute, join } from "node:path"
import { fileURLToPath } from "node:url"
import protobuf from "protobufjs"

const PROTO_DIR = fileURLToPath(new URL("../../../proto/", import.meta.url))

/** v2 and v3 services and everything they import; google/protobuf/* are protobufjs's bundled standard types. */
export const loadOurProtos = (keepCase: boolean): protobuf.Root => {
  const root = new protobuf.Root()
  root.resolvePath = (_origin, target) => (target in protobuf.common || isAbsolute(target) ? target : join(PROTO_DIR, target))
  root.loadSync(["envoy/service/accesslog/v3/als.proto", "envoy/service/accesslog/v2/als.proto"], { keepCase })
  root.resolveAll()
  return root
}

const WIRE_OF_SCALAR: Record<string, number> = {
  int32: 0,
  int64: 0,
  uint32: 0,
  uint64: 0,
  sint32: 0,
  sint64: 0,
  bool: 0,
  fixed64: 1,
  sfixed64: 1,
  double: 1,
  string: 2,
  bytes: 2,
  fixed32: 5,
  sfixed32: 5,
  float: 5
}

/** The wire type a field's values arrive with (a packed repeated scalar arrives length-delimited). */
export const wireTypeOf = (f: protobuf.Field): number => {
  f.resolve()
  if (f.map || f.resolvedType instanceof protobuf.Type) return 2
  const scalar = f.resolvedType instanceof protobuf.Enum ? 0 : WIRE_OF_SCALAR[f.type]
  return f.repeated && f.packed && scalar !== 2 ? 2 : scalar
}
