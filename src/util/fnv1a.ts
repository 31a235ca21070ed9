// FNV-1a (Fowler–Noll–Vo), the one non-cryptographic hash meshsight uses for its own tables: cheap, and good
// enough to spread names and byte strings over buckets that are then compared exactly.

export const FNV_OFFSET = 0x811c9dc5
export const FNV_PRIME = 0x01000193

/** Over UTF-16 code units, cut to 30 bits so V8 keeps it a small integer rather than a boxed number. */
export const fnv1aString = (text: string): number => {
  let h = FNV_OFFSET
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME)
  return h & 0x3fffffff
}

/** Over 32-bit little-endian words and then the tail bytes (a quarter of the steps of a byte-wise hash). */
export const fnv1aBytes = (b: Uint8Array): number => {
  let h = FNV_OFFSET ^ b.length
  const words = b.length & ~3
  let i = 0
  for (; i < words; i += 4) h = Math.imul(h ^ (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)), FNV_PRIME)
  for (; i < b.length; i++) h = Math.imul(h ^ b[i], FNV_PRIME)
  return h
}
