// Snappy block-format compression (github.com/google/snappy format_description.txt), what remote write's
// `Content-Encoding: snappy` means: the uncompressed length as a varint, then literals and back-references.
// Greedy matching of 4-byte sequences through a hash table, per 64 KiB block (so every offset fits 2 bytes).

const BLOCK = 65_536
const HASH_BITS = 14

/** The most a compressed block can take, as snappy's MaxCompressedLength. */
const maxCompressedLength = (n: number) => 32 + n + Math.floor(n / 6)

const load32 = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)
const hash = (v: number) => Math.imul(v, 0x1e35a7bd) >>> (32 - HASH_BITS)

export const snappyCompress = (input: Uint8Array): Uint8Array => {
  const out = new Uint8Array(maxCompressedLength(input.length))
  let op = 0
  for (let n = input.length; ; n = Math.floor(n / 128)) {
    if (n < 0x80) {
      out[op++] = n
      break
    }
    out[op++] = (n & 0x7f) | 0x80
  }

  const literal = (from: number, to: number) => {
    const n = to - from
    if (n === 0) return
    const m = n - 1
    if (m < 60) out[op++] = m << 2
    else if (m < 0x100) {
      out[op++] = 60 << 2
      out[op++] = m
    } else if (m < 0x10000) {
      out[op++] = 61 << 2
      out[op++] = m & 0xff
      out[op++] = m >>> 8
    } else if (m < 0x1000000) {
      out[op++] = 62 << 2
      out[op++] = m & 0xff
      out[op++] = (m >>> 8) & 0xff
      out[op++] = m >>> 16
    } else {
      out[op++] = 63 << 2
      out[op++] = m & 0xff
      out[op++] = (m >>> 8) & 0xff
      out[op++] = (m >>> 16) & 0xff
      out[op++] = m >>> 24
    }
    out.set(input.subarray(from, to), op)
    op += n
  }

  /** A copy of 1–64 bytes with a 2-byte offset. */
  const copy2 = (offset: number, len: number) => {
    out[op++] = ((len - 1) << 2) | 2
    out[op++] = offset & 0xff
    out[op++] = offset >>> 8
  }

  const copy = (offset: number, len: number) => {
    while (len >= 68) {
      copy2(offset, 64)
      len -= 64
    }
    if (len > 64) {
      copy2(offset, 60)
      len -= 60
    }
    if (len >= 12 || offset >= 2048) copy2(offset, len)
    else {
      // 4–11 bytes with an 11-bit offset.
      out[op++] = ((offset >>> 8) << 5) | ((len - 4) << 2) | 1
      out[op++] = offset & 0xff
    }
  }

  const table = new Int32Array(1 << HASH_BITS)
  for (let start = 0; start < input.length; start += BLOCK) {
    const end = Math.min(start + BLOCK, input.length)
    table.fill(-1)
    let ip = start
    let pending = start
    const last = end - 4
    while (ip <= last) {
      const v = load32(input, ip)
      const h = hash(v)
      const candidate = table[h]
      table[h] = ip
      if (candidate < start || load32(input, candidate) !== v) {
        ip++
        continue
      }
      literal(pending, ip)
      let len = 4
      while (ip + len < end && input[candidate + len] === input[ip + len]) len++
      copy(ip - candidate, len)
      ip += len
      pending = ip
    }
    literal(pending, end)
  }
  return out.slice(0, op)
}
