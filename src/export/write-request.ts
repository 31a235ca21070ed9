// Prometheus remote write 1.0 bodies: a `prometheus.WriteRequest` protobuf, Snappy block-compressed.
//   WriteRequest { repeated TimeSeries timeseries = 1; }
//   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//   Label        { string name = 1; string value = 2; }
//   Sample       { double value = 1; int64 timestamp = 2; }   (timestamp in epoch milliseconds)
// Labels must be sorted by name; `__name__` (an underscore sorts before every lowercase letter) comes first.
import type { LabelPair } from "./istio-labels.ts"
import { BoundedMemo } from "../util/bounded-memo.ts"

const utf8 = new TextEncoder()

/** A growable byte buffer with the few protobuf writes a WriteRequest needs. */
export class ProtoWriter {
  buf: Uint8Array
  pos = 0
  /** A double's eight bytes, little-endian as protobuf writes them: made here, then copied in. */
  private readonly floatBytes = new Uint8Array(8)
  private readonly floatView = new DataView(this.floatBytes.buffer)

  constructor(initialBytes = 64 * 1024) {
    this.buf = new Uint8Array(initialBytes)
  }

  private ensure(n: number) {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  byte(b: number) {
    this.ensure(1)
    this.buf[this.pos++] = b
  }

  /** `n` bytes of `v`, least significant first. */
  littleEndian(v: number, n: number) {
    this.ensure(n)
    for (let i = 0; i < n; i++) this.buf[this.pos++] = (v >>> (8 * i)) & 0xff
  }

  varint(v: number) {
    this.ensure(10)
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    this.buf[this.pos++] = v
  }

  bytes(b: Uint8Array) {
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }

  double(v: number) {
    this.ensure(8)
    this.floatView.setFloat64(0, v, true)
    this.buf.set(this.floatBytes, this.pos)
    this.pos += 8
  }

  /** The bytes written so far (a copy) and a reset. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.pos)
    this.pos = 0
    return out
  }
}

/**
 * A WriteRequest written straight into a Snappy block (Snappy's block format: the uncompressed length as a varint,
 * then literal and copy elements), which is what remote write sends. Remote write 1.0 repeats all the labels of a
 * series in each of its TimeSeries — for Istio's metrics ~25 labels, about a kilobyte, in each of up to 67
 * TimeSeries — so a label piece written before in the same request is written as a copy of its earlier bytes: no
 * match search, and the uncompressed request is never made. New bytes (sample values, timestamps, a piece's first
 * time) are literals. Pieces are recognised by their objects: encode each once and pass the same one again.
 */
export class SnappyBlockWriter {
  private readonly elements = new ProtoWriter()
  private readonly literal = new ProtoWriter(4096)
  /** Uncompressed bytes in `elements`. */
  private written = 0
  /** A copy not yet emitted: the next piece may extend it (pieces that followed each other before). */
  private copyOffset = 0
  private copyLength = 0
  /** Where each piece last began, in uncompressed bytes. */
  private readonly pieceAt = new Map<Uint8Array, number>()
  /** By timestamp: a Sample's bytes before its value (tag, length, the value's tag) and after it (the timestamp). */
  private readonly sampleFraming = new Map<number, readonly [Uint8Array, Uint8Array]>()
  private readonly timeSeriesHeads = new Map<number, Uint8Array>()

  /** Uncompressed bytes so far. */
  private get length(): number {
    return this.written + this.copyLength + this.literal.pos
  }

  varint(v: number) {
    if (this.copyLength > 0) this.emitCopy()
    this.literal.varint(v)
  }

  double(v: number) {
    if (this.copyLength > 0) this.emitCopy()
    this.literal.double(v)
  }

  /** Encoded protobuf fields that recur: a copy when the same object was written before in this request. */
  piece(b: Uint8Array) {
    const here = this.length
    const before = this.pieceAt.get(b)
    this.pieceAt.set(b, here)
    if (before === undefined) {
      if (this.copyLength > 0) this.emitCopy()
      this.literal.bytes(b)
      return
    }
    if (this.literal.pos > 0) this.emitLiteral()
    const offset = here - before
    if (this.copyLength > 0 && offset !== this.copyOffset) this.emitCopy()
    this.copyOffset = offset
    this.copyLength += b.length
  }

  /** A TimeSeries field's tag and length: TimeSeries of one label set mostly have the same length. */
  timeSeriesHead(size: number) {
    let head = this.timeSeriesHeads.get(size)
    if (head === undefined) {
      const w = new ProtoWriter(8)
      w.varint((1 << 3) | 2)
      w.varint(size)
      this.timeSeriesHeads.set(size, (head = w.take()))
    }
    this.piece(head)
  }

  /** One Sample field (`samples`, 2): all but the value repeat from sample to sample, and are written as pieces. */
  sample(value: number, timestampMs: number) {
    let framing = this.sampleFraming.get(timestampMs)
    if (framing === undefined) {
      const head = new ProtoWriter(3)
      head.varint((2 << 3) | 2)
      head.varint(sampleSize(timestampMs))
      head.varint((1 << 3) | 1)
      const tail = new ProtoWriter(11)
      tail.varint(2 << 3)
      tail.varint(timestampMs)
      this.sampleFraming.set(timestampMs, (framing = [head.take(), tail.take()]))
    }
    this.piece(framing[0])
    this.double(value)
    this.piece(framing[1])
  }

  private emitLiteral() {
    const n = this.literal.pos
    const e = this.elements
    // The tag's upper six bits hold length − 1 up to 59; 60–63 say that 1–4 bytes of length − 1 follow.
    if (n <= 60) e.byte((n - 1) << 2)
    else if (n <= 0x100) {
      e.byte(60 << 2)
      e.byte(n - 1)
    } else if (n <= 0x10000) {
      e.byte(61 << 2)
      e.littleEndian(n - 1, 2)
    } else {
      e.byte(63 << 2)
      e.littleEndian(n - 1, 4)
    }
    e.bytes(this.literal.buf.subarray(0, n))
    this.written += n
    this.literal.pos = 0
  }

  /** Copies of up to 64 bytes each, with a 2-byte offset where it fits, else a 4-byte one. */
  private emitCopy() {
    const e = this.elements
    const offset = this.copyOffset
    let left = this.copyLength
    while (left > 0) {
      const n = Math.min(left, 64)
      if (offset < 0x10000) {
        e.byte(((n - 1) << 2) | 2)
        e.littleEndian(offset, 2)
      } else {
        e.byte(((n - 1) << 2) | 3)
        e.littleEndian(offset, 4)
      }
      left -= n
    }
    this.written += this.copyLength
    this.copyLength = 0
  }

  /** The block of what was written (a copy), and a reset. */
  take(): Uint8Array {
    if (this.copyLength > 0) this.emitCopy()
    if (this.literal.pos > 0) this.emitLiteral()
    const head = new ProtoWriter(10)
    head.varint(this.written)
    const out = new Uint8Array(head.pos + this.elements.pos)
    out.set(head.buf.subarray(0, head.pos))
    out.set(this.elements.buf.subarray(0, this.elements.pos), head.pos)
    this.elements.pos = 0
    this.written = 0
    this.pieceAt.clear()
    this.sampleFraming.clear()
    this.timeSeriesHeads.clear()
    return out
  }
}

const varintSize = (v: number): number => {
  let n = 1
  while (v >= 0x80) {
    v = Math.floor(v / 0x80)
    n++
  }
  return n
}

/** One encoded `Label` field of a TimeSeries (tag 1, length, name 1, value 2). */
export const encodeLabel = (name: string, value: string): Uint8Array => {
  const n = utf8.encode(name)
  const v = utf8.encode(value)
  const inner = 1 + varintSize(n.length) + n.length + 1 + varintSize(v.length) + v.length
  const w = new ProtoWriter(inner + 8)
  w.varint((1 << 3) | 2)
  w.varint(inner)
  w.varint((1 << 3) | 2)
  w.varint(n.length)
  w.bytes(n)
  w.varint((2 << 3) | 2)
  w.varint(v.length)
  w.bytes(v)
  return w.take()
}

/**
 * Encoded labels that recur (metric names, buckets, entity and proxy labels), one object per label: a request
 * writes a repeat of the same object as a copy (`SnappyBlockWriter.piece`). Values come from traffic, so the memo
 * is bounded.
 */
const labelPieces = new BoundedMemo<string, Uint8Array>(200_000)
export const labelPiece = (name: string, value: string): Uint8Array => {
  // A label name has no `=` (Prometheus: [a-zA-Z_][a-zA-Z0-9_]*), so the key is unambiguous.
  const key = `${name}=${value}`
  return labelPieces.get(key) ?? labelPieces.set(key, encodeLabel(name, value))
}

/** Encoded labels, concatenated (already sorted by the caller). */
export const encodeLabels = (pairs: ReadonlyArray<LabelPair>): Uint8Array => {
  const parts = pairs.map(([k, v]) => encodeLabel(k, v))
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** A Sample message's size: value (tag + 8 bytes) and timestamp (tag + varint). */
const sampleSize = (timestampMs: number) => 1 + 8 + 1 + varintSize(timestampMs)

/**
 * Writes one TimeSeries: its labels are the given encoded pieces in order (each already a run of sorted Label
 * fields), then its sample, after a zero sample at `zeroAtMs` where given.
 */
export const writeTimeSeries = (
  w: SnappyBlockWriter,
  labelPieces: ReadonlyArray<Uint8Array>,
  value: number,
  timestampMs: number,
  zeroAtMs?: number
) => {
  let size = 0
  for (const p of labelPieces) size += p.length
  const s = sampleSize(timestampMs)
  size += 1 + varintSize(s) + s
  if (zeroAtMs !== undefined) {
    const z = sampleSize(zeroAtMs)
    size += 1 + varintSize(z) + z
  }
  w.timeSeriesHead(size)
  for (const p of labelPieces) w.piece(p)
  if (zeroAtMs !== undefined) w.sample(0, zeroAtMs)
  w.sample(value, timestampMs)
}

export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = {
  "content-encoding": "snappy",
  "content-type": "application/x-protobuf",
  "x-prometheus-remote-write-version": "0.1.0"
}

/**
 * Remote-write requests built one TimeSeries at a time, cut every `perRequest` series (Prometheus' own queue sends
 * 2000 samples per request by default), each a Snappy block with its sample count: the Istio export's snapshots and
 * the minute writers all batch through it.
 */
export const makeRequestBatcher = (perRequest: number) => {
  const batches: Array<{ readonly body: Uint8Array; readonly samples: number }> = []
  const w = new SnappyBlockWriter()
  let timeseries = 0
  let samples = 0
  const cut = () => {
    if (timeseries === 0) return
    batches.push({ body: w.take(), samples })
    timeseries = 0
    samples = 0
  }
  return {
    /** One TimeSeries of sorted label pieces and its sample, after a zero sample at `zeroAtMs` where given. */
    put: (labelPieces: ReadonlyArray<Uint8Array>, value: number, timestampMs: number, zeroAtMs?: number) => {
      writeTimeSeries(w, labelPieces, value, timestampMs, zeroAtMs)
      samples += zeroAtMs === undefined ? 1 : 2
      if (++timeseries >= perRequest) cut()
    },
    finish: () => {
      cut()
      return batches
    }
  }
}
