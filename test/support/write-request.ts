// Decodes a remote-write body for assertions: Snappy (the `snappy` package), then protobufjs with
// Prometheus' `prometheus.WriteRequest` as published (prompb/remote.proto, types.proto: the fields remote write 1.0 uses).
import protobuf from "protobufjs"
import { uncompressSync } from "snappy"

const root = protobuf.parse(`
syntax = "proto3";
package prometheus;
message WriteRequest { repeated TimeSeries timeseries = 1; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
`).root
const WriteRequest = root.lookupType("prometheus.WriteRequest")

export interface DecodedSeries {
  readonly labels: Record<string, string>
  /** Label names in wire order (must be sorted). */
  readonly labelOrder: ReadonlyArray<string>
  readonly samples: ReadonlyArray<readonly [value: number, timestampMs: number]>
}

export const decodeWriteRequest = (body: Uint8Array): Array<DecodedSeries> => {
  const m = WriteRequest.toObject(WriteRequest.decode(new Uint8Array(uncompressSync(Buffer.from(body)) as Buffer)), {
    longs: Number,
    defaults: true
  }) as {
    timeseries: Array<{ labels: Array<{ name: string; value: string }>; samples: Array<{ value: number; timestamp: number }> }>
  }
  return m.timeseries.map((ts) => ({
    labels: Object.fromEntries(ts.labels.map((l) => [l.name, l.value])),
    labelOrder: ts.labels.map((l) => l.name),
    samples: ts.samples.map((s) => [s.value, s.timestamp] as const)
  }))
}
