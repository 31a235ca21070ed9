// Prometheus remote write 1.0 bodies: a `prometheus.WriteRequest` protobuf, Snappy block-compressed.
//   WriteRequest { repeated TimeSeries timeseries = 1; }
//   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//   Label        { string name = 1; string value = 2; }
//   Sample       { double value = 1; int64 timestamp = 2; }   (timestamp in epoch milliseconds)
// Labels must be sorted by name; `__name__` (an underscore sorts before every lowercase letter) comes first.
import type { LabelPair } from "./istio-labels.ts"
import { compressSync } from "snappy"

const utf8 = new TextEncoder()

/** A growable byte buffer with the few protobuf writes a WriteRequest needs. */
export class ProtoWriter {
  buf: Uint8Array
  pos = 0
  private readonly view8 = new DataView(new ArrayBuffer(8))

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
    this.view8.setFloat64(0, v, true)
    this.buf.set(new Uint8Array(this.view8.buffer), this.pos)
    this.pos += 8
  }

  /** The bytes written so far (a copy) and a reset. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.pos)
    this.pos = 0
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
 * fields), then the samples in time order.
 */
export const writeTimeSeries = (
  w: ProtoWriter,
  labelPieces: ReadonlyArray<Uint8Array>,
  samples: ReadonlyArray<readonly [value: number, timestampMs: number]>
) => {
  let size = 0
  for (const p of labelPieces) size += p.length
  for (const [, t] of samples) {
    const s = sampleSize(t)
    size += 1 + varintSize(s) + s
  }
  w.varint((1 << 3) | 2)
  w.varint(size)
  for (const p of labelPieces) w.bytes(p)
  for (const [v, t] of samples) {
    w.varint((2 << 3) | 2)
    w.varint(sampleSize(t))
    w.varint((1 << 3) | 1)
    w.double(v)
    w.varint(2 << 3)
    w.varint(t)
  }
}

/** The HTTP body of a remote-write request: the WriteRequest bytes, Snappy block-compressed (napi-rs `snappy`). */
export const compressBody = (writeRequest: Uint8Array): Uint8Array =>
  compressSync(Buffer.from(writeRequest.buffer, writeRequest.byteOffset, writeRequest.byteLength))

export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = {
  "content-encoding": "snappy",
  "content-type": "application/x-protobuf",
  "x-prometheus-remote-write-version": "0.1.0"
}

/**
 * Remote-write requests built one single-sample TimeSeries at a time, cut every `perRequest` series (Prometheus'
 * own queue sends 2000 samples per request by default), each Snappy-compressed with its sample count.
 */
export const makeRequestBatcher = (perRequest: number) => {
  const batches: Array<{ readonly body: Uint8Array; readonly samples: number }> = []
  const w = new ProtoWriter()
  let timeseries = 0
  const cut = () => {
    if (timeseries === 0) return
    batches.push({ body: compressBody(w.take()), samples: timeseries })
    timeseries = 0
  }
  return {
    /** One TimeSeries of sorted label pieces and one sample. */
    put: (labelPieces: ReadonlyArray<Uint8Array>, value: number, timestampMs: number) => {
      writeTimeSeries(w, labelPieces, [[value, timestampMs]])
      if (++timeseries >= perRequest) cut()
    },
    finish: () => {
      cut()
      return batches
    }
  }
}
