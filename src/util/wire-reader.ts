// A minimal protobuf wire-format reader. meshsight decodes only the fields it uses, straight into its domain
// objects, instead of materialising Envoy's full messages (see proto/ for the trimmed definitions it follows).

import { countTruncation, MAX_STRING_BYTES, TRUNCATION_MARK } from "./bounded-string.ts"

export class WireError extends Error {
  override readonly name = "WireError"
}

export const WireType = { Varint: 0, Fixed64: 1, Bytes: 2, Fixed32: 5 } as const

// ignoreBOM: a leading U+FEFF is part of the string's value (protobuf keeps it), not a marker to strip.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** Short ASCII strings are interned in a direct-mapped table (a miss just replaces the slot). */
const INTERN_MAX_LENGTH = 96
const INTERN_SLOTS = 8192
const interned: Array<string> = new Array<string>(INTERN_SLOTS).fill("")

/**
 * Hashes the length and eight bytes spread over the string (cluster names often differ only in the middle). FNV's
 * prime is written out: a module-level constant is loaded from the module's context on each use (see fnv1a.ts).
 */
const internSlot = (buf: Uint8Array, start: number, len: number): number => {
  let h = len
  const step = len >> 3
  for (let i = start + step, k = 0; k < 8; k++, i += step) h = Math.imul(h ^ buf[i], 0x01000193)
  h = Math.imul(h ^ buf[start + len - 1], 0x01000193)
  return (h ^ (h >>> 15)) & (INTERN_SLOTS - 1)
}

/** Each slot's bytes (its string's, ASCII), at slot × INTERN_MAX_LENGTH, compared four at a time on a lookup. */
const internedBytes = new Uint8Array(INTERN_SLOTS * INTERN_MAX_LENGTH)
const internedView = new DataView(internedBytes.buffer)

/** Whether [start, start + len) of `view` holds the bytes kept for `slot` (the lengths already agree). */
const sameBytes = (slot: number, view: DataView, start: number, len: number): boolean => {
  const at = slot * INTERN_MAX_LENGTH
  const words = len >> 2
  const table = internedView // once, not from the module's context on each word
  for (let w = 0; w < words << 2; w += 4) if (view.getInt32(start + w, true) !== table.getInt32(at + w, true)) return false
  for (let i = words << 2; i < len; i++) if (view.getUint8(start + i) !== table.getUint8(at + i)) return false
  return true
}

const asBuffer = (buf: Uint8Array): Buffer => (Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength))

export class WireReader {
  readonly buf: Uint8Array
  pos: number
  end: number
  /** Views of `buf` made once per message and shared by its sub-readers: one per string read cost more than the read. */
  private readonly view: DataView
  /** The same bytes as a Buffer, for `asciiString`. */
  private readonly text: Buffer
  private child: WireReader | undefined

  constructor(buf: Uint8Array, pos = 0, end = buf.length, parent?: WireReader) {
    this.buf = buf
    this.pos = pos
    this.end = end
    this.view = parent === undefined ? new DataView(buf.buffer, buf.byteOffset, buf.byteLength) : parent.view
    this.text = parent === undefined ? asBuffer(buf) : parent.text
    this.child = undefined
  }

  /** Reads a varint of up to 64 bits; values above 2^53 lose precision (no field meshsight reads gets there). */
  varint(): number {
    const buf = this.buf
    let pos = this.pos
    if (pos >= this.end) throw new WireError("truncated varint")
    let b = buf[pos++]
    if (b < 0x80) {
      this.pos = pos
      return b
    }
    let result = b & 0x7f
    let shift = 7
    let mul = 128
    for (;;) {
      if (pos >= this.end) throw new WireError("truncated varint")
      b = buf[pos++]
      if (shift < 28) result |= (b & 0x7f) << shift
      else result += (b & 0x7f) * mul
      if (b < 0x80) break
      shift += 7
      mul *= 128
      if (shift > 63) throw new WireError("varint longer than 10 bytes")
    }
    this.pos = pos
    return result
  }

  /** int32 fields encode negatives as 10-byte two's-complement varints (Duration.nanos < 0). */
  int32(): number {
    const start = this.pos
    const v = this.varint()
    return this.pos - start === 10 ? this.signed64(start) | 0 : v | 0
  }

  /** int64 that may be negative (Timestamp.seconds before 1970, Duration.seconds < 0). */
  int64(): number {
    const start = this.pos
    const v = this.varint()
    // A negative int64 always takes 10 bytes, and `varint()` has rounded it to a multiple of 2^11 near 2^64.
    return this.pos - start === 10 ? this.signed64(start) : v
  }

  /** The varint at [start, pos) as a two's-complement int64 from exact 32-bit halves (exact for |v| <= 2^53). */
  private signed64(start: number): number {
    let lo = 0
    let hi = 0
    for (let p = start, shift = 0; p < this.pos; p++, shift += 7) {
      const b = this.buf[p] & 0x7f
      if (shift < 28) lo |= b << shift
      else if (shift === 28) {
        lo |= b << 28 // `<<` keeps the low 4 bits of b; the other 3 start the high half
        hi = b >>> 4
      } else hi |= b << (shift - 32)
    }
    return (hi | 0) * 4294967296 + (lo >>> 0)
  }

  bool(): boolean {
    return this.varint() !== 0
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new WireError("truncated fixed64")
    const v = this.view.getFloat64(this.pos, true)
    this.pos += 8
    return v
  }

  /** Length of a length-delimited field; the caller reads `[pos, pos + len)`. */
  length(): number {
    const len = this.varint()
    if (this.pos + len > this.end) throw new WireError(`length ${len} runs past the end of its message`)
    return len
  }

  bytes(): Uint8Array {
    const len = this.length()
    const start = this.pos
    this.pos += len
    return this.buf.subarray(start, start + len)
  }

  string(): string {
    return this.stringOf(this.length())
  }

  /** The string of the next `len` bytes (their length already read). */
  private stringOf(len: number): string {
    const start = this.pos
    const end = start + len
    this.pos = end
    const buf = this.buf
    if (len > MAX_STRING_BYTES) return this.truncated(start)
    // Access logs repeat the same short ASCII strings (IPs, cluster names, paths, SPIFFE ids) entry after entry:
    // hand out the interned copy instead of a new string each time.
    if (len <= INTERN_MAX_LENGTH) {
      // The slot comes from the length and a few sampled bytes; the full comparison below makes a hit exact.
      const slot = len === 0 ? 0 : internSlot(buf, start, len)
      const known = interned[slot]
      if (known.length === len && sameBytes(slot, this.view, start, len)) return known
      let ascii = true
      for (let i = start; i < end; i++) {
        if (buf[i] >= 0x80) {
          ascii = false
          break
        }
      }
      if (ascii) {
        const s = this.asciiString(start, end)
        interned[slot] = s
        internedBytes.set(buf.subarray(start, end), slot * INTERN_MAX_LENGTH)
        return s
      }
    }
    try {
      return decoder.decode(buf.subarray(start, end))
    } catch {
      throw new WireError("string is not valid UTF-8")
    }
  }

  /** The first MAX_STRING_BYTES of [start, end) (cut before a UTF-8 continuation byte) and the mark; counted. */
  private truncated(start: number): string {
    let cut = start + MAX_STRING_BYTES
    while (cut > start && (this.buf[cut] & 0xc0) === 0x80) cut--
    countTruncation()
    try {
      return decoder.decode(this.buf.subarray(start, cut)) + TRUNCATION_MARK
    } catch {
      throw new WireError("string is not valid UTF-8")
    }
  }

  /**
   * [start, end), known to be ASCII, as a string. Node's native latin1 decoding (ASCII is its subset) costs a third
   * of `String.fromCharCode.apply` over a subarray, and skips TextDecoder's UTF-8 validation, already done.
   */
  private asciiString(start: number, end: number): string {
    return this.text.toString("latin1", start, end)
  }

  /**
   * The next string field's first `maxBytes` bytes (cut back to a whole UTF-8 character), not interned: for values
   * that differ entry by entry (request ids) and that a client could make arbitrarily long.
   */
  boundedString(maxBytes: number): string {
    return this.boundedOf(this.length(), maxBytes)
  }

  /**
   * As `boundedString`, for a value that repeats entry after entry though a client chooses it (user agents):
   * interned like `string()` when short enough to be neither cut nor costly to compare.
   */
  repeatingBoundedString(maxBytes: number): string {
    const len = this.length()
    return len <= INTERN_MAX_LENGTH && len <= maxBytes ? this.stringOf(len) : this.boundedOf(len, maxBytes)
  }

  private boundedOf(len: number, maxBytes: number): string {
    const start = this.pos
    this.pos = start + len
    let end = start + Math.min(len, maxBytes)
    // A UTF-8 continuation byte (10xxxxxx) at the cut means the cut splits a character: drop its first bytes too.
    if (end < start + len) while (end > start && (this.buf[end] & 0xc0) === 0x80) end--
    // ASCII (request ids, most user agents) skips TextDecoder, whose per-call cost shows on short strings.
    let ascii = true
    for (let i = start; i < end; i++) {
      if (this.buf[i] >= 0x80) {
        ascii = false
        break
      }
    }
    if (ascii) return this.asciiString(start, end)
    try {
      return decoder.decode(this.buf.subarray(start, end))
    } catch {
      throw new WireError("string is not valid UTF-8")
    }
  }

  /**
   * A reader over the next length-delimited field, sharing this buffer. Decoding is depth-first (a sub-message is
   * read to its end before its parent goes on), so each reader recycles one child instead of allocating a reader
   * per sub-message (~25 per access log entry): the previous child is done with when this is called again.
   */
  sub(): WireReader {
    const len = this.length()
    const start = this.pos
    this.pos += len
    const child = this.child
    if (child === undefined) {
      const created = new WireReader(this.buf, start, start + len, this)
      this.child = created
      return created
    }
    // Its buffer and views are this reader's already: a child is made by its parent, and a reader's buffer never
    // changes (each message gets a root reader of its own).
    child.pos = start
    child.end = start + len
    return child
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WireType.Varint:
        this.varint()
        return
      case WireType.Fixed64:
        this.advance(8)
        return
      case WireType.Bytes: {
        const len = this.length() // read before touching pos: `this.pos += this.length()` would use the old pos
        this.pos += len
        return
      }
      case WireType.Fixed32:
        this.advance(4)
        return
      default:
        throw new WireError(`unsupported wire type ${wireType}`)
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new WireError("truncated fixed-width field")
    this.pos += n
  }
}

/**
 * Throws unless a field arrived with the wire type its definition says. `field` + `subfield` names the field in the
 * error; the two are only joined when it is thrown.
 */
export const expectWireType = (actual: number, expected: number, field: string, subfield = ""): void => {
  if (actual !== expected) throw new WireError(`${field}${subfield}: wire type ${actual}, expected ${expected}`)
}
