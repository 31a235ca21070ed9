// proto/envoy/service/metrics/ against Envoy's official metrics service protos (npm @grpc/grpc-js-xds,
// deps/envoy-api), and src/protocol/metrics-codec.ts against protobufjs:
// (a) schema: every message and field of the trimmed service protos exists in the official ones with the same
//     number, type and label; the trimmed protos hold exactly the fields the codec reads. The Prometheus client
//     model is not in the package: proto/io/prometheus/client/metrics.proto is written from its published field
//     numbers, and the official service proto is loaded against it (sim/envoy-protos.ts).
// (b) values: random messages of every family type, with unknown fields at every level, and the captured message,
//     encoded with the official protos, decode through the codec exactly as protobufjs decodes them.
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, isAbsolute, join } from "node:path"
import { fileURLToPath } from "node:url"
import protobuf from "protobufjs"
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { METRIC_TYPES, MetricsMessage } from "../../src/domain/metric-family.ts"
import { decodeMetricsMessage } from "../../src/protocol/metrics-codec.ts"
import { captureBytes } from "../support/envoy-metric-capture.ts"
import { type Decoded, decodeOfficialAs, encodeNoisy, jsonOfStruct, officialType } from "./support/official.ts"
import { makeRng, type Rng } from "./support/prng.ts"
import { wireTypeOf } from "./support/protos.ts"
import { node } from "./support/random-messages.ts"

const PROTO_DIR = fileURLToPath(new URL("../../proto/", import.meta.url))
const ENVOY_API = join(dirname(createRequire(import.meta.url).resolve("@grpc/grpc-js-xds/package.json")), "deps/envoy-api")

const ours: protobuf.Root = (() => {
  const root = new protobuf.Root()
  root.resolvePath = (_origin, target) => (target in protobuf.common || isAbsolute(target) ? target : join(PROTO_DIR, target))
  root.loadSync(["envoy/service/metrics/v3/metrics_service.proto", "envoy/service/metrics/v2/metrics_service.proto"])
  root.resolveAll()
  return root
})()

/** The official v2 file, parsed but not resolved (the package lacks the envoy/api/v2/core protos it imports). */
const officialV2 = protobuf.parse(readFileSync(join(ENVOY_API, "envoy/service/metrics/v2/metrics_service.proto"), "utf8"), {
  keepCase: false
}).root

const serviceTypes = (version: "v2" | "v3") =>
  ["StreamMetricsMessage", "StreamMetricsMessage.Identifier", "StreamMetricsResponse"].map((n) =>
    ours.lookupType(`envoy.service.metrics.${version}.${n}`)
  )

const lastPart = (t: string) => t.slice(t.lastIndexOf(".") + 1)
const shape = (f: protobuf.Field) => ({ name: f.name, id: f.id, type: lastPart(f.type), repeated: f.repeated })

/** What metrics-codec.ts reads, by message and field number (see its comments). */
const CODEC_READS: Record<string, ReadonlyArray<number>> = {
  StreamMetricsMessage: [1, 2],
  "StreamMetricsMessage.Identifier": [1],
  StreamMetricsResponse: [],
  LabelPair: [1, 2],
  Gauge: [1],
  Counter: [1],
  Quantile: [1, 2],
  Summary: [1, 2, 3],
  Untyped: [1],
  Histogram: [1, 2, 3],
  Bucket: [1, 2],
  Metric: [1, 2, 3, 4, 5, 6, 7],
  MetricFamily: [1, 3, 4]
}

describe("schema: proto/ against Envoy's official metrics service protos", () => {
  it.each(["v2", "v3"] as const)("%s: every field as in the official proto", (version) => {
    for (const t of serviceTypes(version)) {
      const name = t.fullName.slice(1)
      const official = version === "v3" ? officialType(name) : officialV2.lookupType(name)
      for (const f of t.fieldsArray) {
        const o = official.fieldsById[f.id]
        expect(o, `${name} field ${f.id}`).toBeDefined()
        expect(shape(f), name).toEqual(shape(o))
        if (version === "v3") expect(wireTypeOf(f)).toBe(wireTypeOf(o))
      }
    }
  })

  it("the official service proto uses the client model under the names and types we define", () => {
    const family = officialType("envoy.service.metrics.v3.StreamMetricsMessage").fields.envoyMetrics.resolve()
    expect(family.resolvedType?.fullName).toBe(".io.prometheus.client.MetricFamily")
    expect(Object.keys(ours.lookupEnum("io.prometheus.client.MetricType").values)).toEqual([...METRIC_TYPES])
  })

  it("the trimmed protos define exactly the fields the codec reads", () => {
    const prometheus = (ours.lookup("io.prometheus.client") as protobuf.Namespace).nestedArray.filter(
      (t): t is protobuf.Type => t instanceof protobuf.Type
    )
    const types = [...serviceTypes("v3"), ...prometheus]
    const defined = Object.fromEntries(
      types.map((t) => [
        t.fullName.replace(/^\.envoy\.service\.metrics\.v3\.|^\.io\.prometheus\.client\./, ""),
        t.fieldsArray.map((f) => f.id).sort((a, b) => a - b)
      ])
    )
    expect(defined).toEqual(CODEC_READS)
  })
})

// ---- (b) values ----

const Message = officialType("envoy.service.metrics.v3.StreamMetricsMessage")

/** The oracle: protobufjs's decoding mapped to the codec's domain shape by the client model's rules. */
const expected = (bytes: Uint8Array) => {
  const d: Decoded = decodeOfficialAs(Message, bytes)
  const typeName = (t: number | undefined) => METRIC_TYPES[t ?? 0]
  return {
    identifier:
      d.identifier === undefined
        ? undefined
        : {
            node: {
              id: d.identifier.node?.id ?? "",
              cluster: d.identifier.node?.cluster ?? "",
              metadata: jsonOfStruct(d.identifier.node?.metadata)
            }
          },
    families: (d.envoyMetrics ?? []).map((f: Decoded) => {
      const type = typeName(f.type)
      return {
        name: f.name ?? "",
        type,
        metrics: (f.metric ?? []).map((m: Decoded) => {
          const member = type === "COUNTER" ? m.counter : type === "GAUGE" ? m.gauge : type === "UNTYPED" ? m.untyped : undefined
          const dist = type === "SUMMARY" ? m.summary : type === "HISTOGRAM" ? m.histogram : undefined
          return {
            labels: (m.label ?? []).map((l: Decoded) => ({ name: l.name ?? "", value: l.value ?? "" })),
            value: member === undefined ? Number.NaN : (member.value ?? 0),
            distribution:
              dist === undefined
                ? undefined
                : {
                    sampleCount: dist.sampleCount ?? 0,
                    sampleSum: dist.sampleSum ?? 0,
                    buckets: (dist.bucket ?? []).map((b: Decoded) => ({
                      cumulativeCount: b.cumulativeCount ?? 0,
                      upperBound: b.upperBound ?? 0
                    })),
                    quantiles: (dist.quantile ?? []).map((q: Decoded) => ({ quantile: q.quantile ?? 0, value: q.value ?? 0 }))
                  },
            timestampMs: m.timestampMs ?? 0
          }
        })
      }
    }),
    rejected: []
  }
}

const maybe = <A>(rng: Rng, f: () => A, p = 0.7): A | undefined => (rng.chance(p) ? f() : undefined)
const many = <A>(rng: Rng, max: number, f: () => A): Array<A> => Array.from({ length: rng.int(0, max) }, f)
const double = (rng: Rng) =>
  rng.pick([0, 1, -1.5, 3145728, 2 ** 60, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, rng.next() * 1e6])

const randomMetric = (rng: Rng): Record<string, unknown> => ({
  label: maybe(rng, () => many(rng, 3, () => ({ name: maybe(rng, () => rng.string(8)), value: maybe(rng, () => rng.string(12)) }))),
  gauge: maybe(rng, () => ({ value: maybe(rng, () => double(rng)) }), 0.4),
  counter: maybe(rng, () => ({ value: maybe(rng, () => double(rng)) }), 0.4),
  untyped: maybe(rng, () => ({ value: maybe(rng, () => double(rng)) }), 0.3),
  summary: maybe(
    rng,
    () => ({
      sampleCount: rng.int(0, 1e6),
      sampleSum: double(rng),
      quantile: many(rng, 3, () => ({ quantile: maybe(rng, () => rng.pick([0.5, 0.9, 0.99])), value: maybe(rng, () => double(rng)) }))
    }),
    0.3
  ),
  histogram: maybe(
    rng,
    () => ({
      sampleCount: maybe(rng, () => rng.int(0, 1e6)),
      sampleSum: maybe(rng, () => double(rng)),
      bucket: many(rng, 4, () => ({ cumulativeCount: maybe(rng, () => rng.int(0, 1e6)), upperBound: maybe(rng, () => double(rng)) }))
    }),
    0.3
  ),
  timestampMs: maybe(rng, () => 1_700_000_000_000 + rng.int(0, 1e9))
})

const randomMessage = (rng: Rng): Record<string, unknown> => ({
  identifier: maybe(rng, () => ({ node: maybe(rng, () => node(rng), 0.9) }), 0.5),
  envoyMetrics: many(rng, 6, () => ({
    name: maybe(rng, () => `cluster.outbound|9080||${rng.string(10)}.default.svc.cluster.local.upstream_rq_total`),
    type: maybe(rng, () => rng.int(0, 4)),
    metric: many(rng, 3, () => randomMetric(rng))
  }))
})

const expectSameDecoding = (bytes: Uint8Array) => {
  const actual = decodeMetricsMessage(bytes)
  Schema.asserts(MetricsMessage, actual)
  expect(actual).toEqual(expected(bytes))
  return actual
}

describe("values: the codec decodes what the official protos encode", () => {
  it("the captured message", () => {
    const message = expectSameDecoding(captureBytes())
    expect(message.families.map((f) => [f.name, f.type, f.metrics[0].value])).toEqual([
      ["cluster.service_stats.update_attempt", "COUNTER", 1],
      ["cluster.service_stats.membership_change", "COUNTER", 1],
      ["server.parent_connections", "GAUGE", 50],
      ["server.total_connections", "GAUGE", 14],
      ["server.memory_heap_size", "GAUGE", 3145728]
    ])
    expect(message.identifier?.node).toEqual({ id: "ingress", cluster: "envoy-proxy", metadata: { skywalking: "iscool" } })
  })

  it("random messages of every family type, with unknown fields at every level (seeded)", () => {
    const rng = makeRng(0x5eed_0015)
    const types = new Set<string>()
    let metrics = 0
    for (let i = 0; i < 300; i++) {
      const json = randomMessage(rng)
      const bytes = i % 2 === 0 ? Message.encode(Message.fromObject(json)).finish() : encodeNoisy(Message, json, rng)
      for (const f of expectSameDecoding(bytes).families) {
        types.add(f.type)
        metrics += f.metrics.length
      }
    }
    expect([...types].sort()).toEqual([...METRIC_TYPES].sort())
    expect(metrics).toBeGreaterThan(500)
  })

  it("a family of an unknown type, or malformed inside, is rejected alone", () => {
    const good = Message.encode(Message.fromObject({ envoyMetrics: [{ name: "a", type: 1, metric: [{ gauge: { value: 2 } }] }] })).finish()
    const unknownType = protobuf.Writer.create()
      .uint32((2 << 3) | 2)
      .fork()
      .uint32((1 << 3) | 2)
      .string("b")
      .uint32(3 << 3)
      .uint32(9)
      .ldelim()
      .finish()
    // Metric.gauge sent as a varint.
    const mistyped = protobuf.Writer.create()
      .uint32((2 << 3) | 2)
      .fork()
      .uint32((4 << 3) | 2)
      .fork()
      .uint32(2 << 3)
      .uint32(1)
      .ldelim()
      .ldelim()
      .finish()
    const message = decodeMetricsMessage(Buffer.concat([good, unknownType, mistyped, good]))
    expect(message.families.map((f) => f.name)).toEqual(["a", "a"])
    expect(message.rejected).toEqual([
      { index: 1, reason: 'family "b" has unknown metric type 9' },
      { index: 2, reason: "Metric.gauge: wire type 0, expected 2" }
    ])
  })
})
