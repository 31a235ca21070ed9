// The captured Envoy messages through identify → analyze, against test/testdata/README.md's expectations: the first
// entry's numbers spelt out, and every record of each message against its golden file in test/testdata/golden/
// (MESHSIGHT_UPDATE_GOLDEN=1 rewrites those instead of comparing; see test/testdata/README.md).
import { describe, expect, it } from "vitest"
import { analyze, type AnalysisMisses } from "../../src/analysis/analyze.ts"
import { makeEndpointNamer } from "../../src/analysis/endpoint-names.ts"
import { NO_RULES } from "../../src/analysis/endpoint-rules.ts"
import { emptySides } from "../../src/domain/identity.ts"
import type { MeshMetric } from "../../src/domain/mesh-metric.ts"
import { parseNode } from "../../src/domain/node.ts"
import { decodeAlsMessage } from "../../src/protocol/als-codec.ts"
import { ALS_FIXTURES, fixtureBytes } from "../support/fixtures.ts"
import { expectGolden } from "../support/golden.ts"
import { FIXTURE_CLUSTER, ipTableAnalyzer } from "../support/ip-table-analyzer.ts"

const analyzeFixture = (name: string) => {
  const message = decodeAlsMessage(fixtureBytes(name))
  const node = parseNode(message.identifier!.node)
  const sides = message.entries.map(() => emptySides())
  ipTableAnalyzer("k8s-mesh", FIXTURE_CLUSTER).forStream(node).fill(message.entries, sides)
  const misses: AnalysisMisses = { local: 0, source: 0, destination: 0 }
  return { node, records: analyze(node, message.entries, sides, misses, makeEndpointNamer(NO_RULES)), misses }
}

const brief = (m: MeshMetric) => ({
  detectPoint: m.detectPoint,
  source: m.source?.service,
  destination: m.destination.service,
  startTimeMs: m.startTimeMs,
  endTimeMs: m.endTimeMs,
  latencyMs: m.latencyMs,
  success: m.success,
  endpoint: m.endpoint,
  tlsMode: m.tlsMode
})

describe("captured Envoy messages", () => {
  it("ingress gateway entry: server side UNKNOWN → ingress and client side ingress → productpage", () => {
    const { node, records, misses } = analyzeFixture("envoy-ingress")
    expect(node.role).toBe("proxy")
    expect(records.map(brief)).toEqual([
      {
        detectPoint: "server",
        source: "UNKNOWN",
        destination: "ingress",
        startTimeMs: 1555127993687,
        endTimeMs: 1555127994697,
        latencyMs: 1010,
        success: true,
        endpoint: "GET:/productpage",
        tlsMode: "NONE"
      },
      {
        detectPoint: "client",
        source: "ingress",
        destination: "productpage",
        startTimeMs: 1555127993687,
        endTimeMs: 1555127994697,
        latencyMs: 1010,
        success: true,
        endpoint: "GET:/productpage",
        tlsMode: "NONE"
      }
    ])
    expect(records.every((r) => r.role === "proxy" && r.protocol === "HTTP" && r.responseCode === 200)).toBe(true)
    expect(records[0].sidecarInternalReqLatencyNs).toBe(869_250)
    // time_to_first_downstream_tx_byte − time_to_first_upstream_rx_byte, whole nanoseconds
    expect(records[0].sidecarInternalRespLatencyNs).toBe(1_010_053_396 - 1_010_010_710)
    expect(misses).toEqual({ local: 0, source: 1, destination: 0 })
  })

  it("client sidecar entry: one client-side record productpage → detail", () => {
    const { node, records } = analyzeFixture("envoy-mesh-client-sidecar")
    expect(node.role).toBe("sidecar")
    expect(records.map(brief)).toEqual([
      {
        detectPoint: "client",
        source: "productpage",
        destination: "detail",
        startTimeMs: 1555127993697,
        endTimeMs: 1555127993705,
        latencyMs: 8,
        success: true,
        endpoint: "GET:/details/0",
        tlsMode: "NONE"
      }
    ])
    expect(records[0].sidecarInternalReqLatencyNs).toBe(2_353_100)
  })

  it("server sidecar entry: one server-side record productpage → review", () => {
    const { node, records } = analyzeFixture("envoy-mesh-server-sidecar")
    expect(node.role).toBe("sidecar")
    expect(records.map(brief)).toEqual([
      {
        detectPoint: "server",
        source: "productpage",
        destination: "review",
        startTimeMs: 1555127993712,
        endTimeMs: 1555127994689,
        latencyMs: 977,
        success: true,
        endpoint: "GET:/reviews/0",
        tlsMode: "NONE"
      }
    ])
  })
})

describe("captured Envoy messages, whole output", () => {
  for (const name of ALS_FIXTURES) {
    it(`${name}: every record, every field, as in golden/${name}.records.json`, () => {
      // `entry` is the decoded input the record came from (for the Istio export's labels), not analysis output.
      expectGolden(
        `${name}.records.json`,
        analyzeFixture(name).records.map(({ entry: _entry, ...record }) => record)
      )
    })
  }
})
