// A received message's memory, given back as soon as the message has been handled rather than whenever V8 next
// collects it. grpc-js (1.14, stream-decoder.js) joins each message's HTTP/2 frames into a new Buffer — the 5-byte
// gRPC frame header, then the message — and hands over a view of it past the header. Outside V8's heap, ~69 KiB per
// 100-entry ALS message, those buffers piled up as garbage between collections (docs/performance.md, round seven).

/** The gRPC length-prefixed message header: a compressed flag and a 4-byte length. */
const FRAME_HEADER_BYTES = 5

/**
 * Frees the memory of `bytes` now when it is a message that grpc-js framed into memory of its own: exactly the
 * header and the message, so no other Buffer can share it. Buffer.concat serves sizes below half of
 * `Buffer.poolSize` (32 KiB on Node 24) from a pool shared with other Buffers: those, and anything else, are left
 * to the collector. Returns whether it freed it. The caller must hold no view of the message afterwards: the
 * decoded message's byte fields (filter-state values) are views of it, and read as empty once it is freed.
 */
export const releaseMessage = (bytes: Uint8Array): boolean => {
  const memory = bytes.buffer
  if (!(memory instanceof ArrayBuffer) || bytes.byteOffset !== FRAME_HEADER_BYTES) return false
  if (memory.byteLength !== FRAME_HEADER_BYTES + bytes.byteLength || memory.detached) return false
  // Detaches the ArrayBuffer (its views become empty) and frees its memory at once.
  memory.transfer(0)
  return true
}
