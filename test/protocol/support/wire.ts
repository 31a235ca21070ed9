// Hand-assembled protobuf wire bytes, for what an encoder built from .proto files cannot produce: unknown field
// numbers, wrong wire types, broken lengths, garbage.

export const VARINT = 0
export const FIXED64 = 1
export const LEN = 2
export const START_GROUP = 3
export const FIXED32 = 5

export const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** Base-128 varint of a non-negative integer (a bigint for the full 64-bit range). */
export const varint = (value: number | bigint): Uint8Array => {
  let v = BigInt(value)
  const out: Array<number> = []
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
  return Uint8Array.from(out)
}

/** A field key; field numbers go up to 2^29 − 1, so the key can exceed 32 bits' signed range. */
export const tag = (field: number, wireType: number): Uint8Array => varint(BigInt(field) * 8n + BigInt(wireType))

export const varintField = (field: number, value: number | bigint): Uint8Array => concat(tag(field, VARINT), varint(value))

export const lenField = (field: number, payload: Uint8Array): Uint8Array => concat(tag(field, LEN), varint(payload.length), payload)

export const stringField = (field: number, s: string): Uint8Array => lenField(field, new TextEncoder().encode(s))

export const fixedField = (field: number, wireType: typeof FIXED32 | typeof FIXED64, bytes: Uint8Array): Uint8Array =>
  concat(tag(field, wireType), bytes)
