// mx-mesh: identities from Istio's node metadata and the peer metadata in filter state (both encodings).
import { describe, expect, it } from "vitest"
import { DEFAULT_MX_INSTANCE_NAME_RULE, DEFAULT_MX_SERVICE_NAME_RULE } from "../../src/config.ts"
import { emptySides } from "../../src/domain/identity.ts"
import { parseNode } from "../../src/domain/node.ts"
import { makeMxMeshAnalyzer } from "../../src/identity/mx-mesh/mx-mesh-analyzer.ts"
import { compileTemplate } from "../../src/identity/name-template.ts"
import { decodeAlsMessage } from "../../src/protocol/als-codec.ts"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { legacyPeerFilterState } from "../../sim/flat-node.ts"
import { alsMessageJson, inboundHttpEntry, outboundHttpEntry, peerFilterState, type Workload } from "../../sim/istio-entries.ts"

const naming = { service: compileTemplate(DEFAULT_MX_SERVICE_NAME_RULE), instance: compileTemplate(DEFAULT_MX_INSTANCE_NAME_RULE) }
const productpage: Workload = {
  name: "productpage-v1-7d9f-abcde",
  namespace: "bookinfo",
  ip: "10.1.0.5",
  labels: { app: "productpage", "service.istio.io/canonical-name": "productpage", version: "v1" },
  workloadName: "productpage-v1"
}
const reviews: Workload = { ...productpage, name: "reviews-v2-55f-xyz", ip: "10.1.0.6", labels: { app: "reviews", version: "v2" }, workloadName: "reviews-v2" }
const peers = { client: productpage, server: reviews, port: 9080, host: "reviews.bookinfo.svc.cluster.local" }

const resolve = (entries: ReadonlyArray<Record<string, unknown>>, reporter: Workload) => {
  const message = decodeAlsMessage(encodeAlsMessageJson(alsMessageJson({ http: entries }, { workload: reporter })))
  const stats = { peerDecodeFailures: 0 }
  const sides = message.entries.map(() => emptySides())
  makeMxMeshAnalyzer(naming, () => stats.peerDecodeFailures++).forStream(parseNode(message.identifier!.node)).fill(message.entries, sides)
  return { sides, stats }
}

const call = { startMs: Date.UTC(2026, 0, 1), durationMs: 5 }

describe("mx-mesh", () => {
  it("names the local workload from node metadata and the callee from upstream_peer (Istio ≥ 1.24)", () => {
    const { sides } = resolve([outboundHttpEntry(call, peers)], productpage)
    // WORKLOAD_NAME and CLUSTER_ID fill the optional fields the Istio-standard labels use.
    const named = (w: typeof reviews) => ({ workload: w.workloadName, cluster: w.clusterId ?? "Kubernetes" })
    expect(sides[0].local).toEqual({ service: "productpage.bookinfo", instance: productpage.name, namespace: "bookinfo", labels: productpage.labels, ...named(productpage) })
    expect(sides[0].upstream).toEqual({ service: "reviews.bookinfo", instance: reviews.name, namespace: "bookinfo", labels: reviews.labels, ...named(reviews) })
    expect(sides[0].downstream).toBeUndefined()
  })

  it("names the caller from downstream_peer", () => {
    const { sides } = resolve([inboundHttpEntry(call, peers)], reviews)
    expect(sides[0].local?.service).toBe("reviews.bookinfo")
    expect(sides[0].downstream?.service).toBe("productpage.bookinfo")
  })

  it("reads older Istio's wasm.* keys holding a FlatBuffer FlatNode", () => {
    const entry = outboundHttpEntry(call, peers) as { commonProperties: Record<string, unknown> }
    entry.commonProperties.filterStateObjects = { "wasm.upstream_peer": legacyPeerFilterState(reviews) }
    const { sides } = resolve([entry], productpage)
    expect(sides[0].upstream).toMatchObject({ service: "reviews.bookinfo", instance: reviews.name, namespace: "bookinfo", labels: reviews.labels })
  })

  it("treats an undecodable or unnamed peer as unknown and counts it, without affecting other entries", () => {
    const broken = outboundHttpEntry(call, peers) as { commonProperties: Record<string, unknown> }
    broken.commonProperties.filterStateObjects = {
      upstream_peer: { "@type": "type.googleapis.com/google.protobuf.BytesValue", value: Buffer.from([0x0a, 0xff]).toString("base64") }
    }
    const unnamed = outboundHttpEntry(call, peers) as { commonProperties: Record<string, unknown> }
    unnamed.commonProperties.filterStateObjects = { upstream_peer: peerFilterState({ ...reviews, labels: {} }) }
    // A Struct whose LABELS are not strings does not fit Istio's metadata schema.
    const mistyped = outboundHttpEntry(call, peers) as { commonProperties: Record<string, unknown> }
    mistyped.commonProperties.filterStateObjects = {
      upstream_peer: { "@type": "type.googleapis.com/google.protobuf.Struct", value: { NAME: "x", NAMESPACE: "y", LABELS: { app: 3 } } }
    }
    const { sides, stats } = resolve([broken, unnamed, mistyped, outboundHttpEntry(call, peers)], productpage)
    expect(sides.map((s) => s.upstream?.service)).toEqual([undefined, undefined, undefined, "reviews.bookinfo"])
    expect(stats.peerDecodeFailures).toBe(3)
  })

  it("decodes each distinct peer value once (cache), and fills only sides still unknown", () => {
    const { sides, stats } = resolve([outboundHttpEntry(call, peers), outboundHttpEntry(call, peers)], productpage)
    expect(sides[0].upstream).toBe(sides[1].upstream)
    expect(stats.peerDecodeFailures).toBe(0)
    const message = decodeAlsMessage(encodeAlsMessageJson(alsMessageJson({ http: [outboundHttpEntry(call, peers)] }, { workload: productpage })))
    const preset = { local: undefined, downstream: undefined, upstream: { service: "already", instance: "i", namespace: "n", labels: {} } }
    makeMxMeshAnalyzer(naming, () => stats.peerDecodeFailures++).forStream(parseNode(message.identifier!.node)).fill(message.entries, [preset])
    expect(preset.upstream.service).toBe("already")
  })

  it("leaves the local workload unknown for proxies without Istio's workload metadata", () => {
    const message = decodeAlsMessage(encodeAlsMessageJson({
      identifier: { node: { id: "sidecar~10.0.0.1~x.default~default.svc.cluster.local", metadata: { istio: "sidecar" } }, logName: "als" },
      httpLogs: { logEntry: [outboundHttpEntry(call, peers)] }
    }))
    const sides = [emptySides()]
    makeMxMeshAnalyzer(naming, () => {}).forStream(parseNode(message.identifier!.node)).fill(message.entries, sides)
    expect(sides[0].local).toBeUndefined()
    expect(sides[0].upstream?.service).toBe("reviews.bookinfo")
  })
})
