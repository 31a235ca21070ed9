// mx-mesh: identities from Istio's node metadata and the peer metadata in filter state, in all three shapes —
// Istio ≥ 1.24's lowercase Struct, older Istio's FlatNode, and node metadata — named alike by the same rules.
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { describe, expect, it } from "vitest"
import { DEFAULT_MX_INSTANCE_NAME_RULE, DEFAULT_MX_SERVICE_NAME_RULE } from "../../src/identity/mx-mesh/mx-mesh-analyzer.ts"
import type { JsonObject } from "../../src/domain/access-log.ts"
import { emptySides } from "../../src/domain/identity.ts"
import { parseNode } from "../../src/domain/node.ts"
import { decodeIstioMetadata, peerStructToNodeKeys } from "../../src/identity/mx-mesh/istio-metadata.ts"
import { makeMxMeshAnalyzer, mxNaming } from "../../src/identity/mx-mesh/mx-mesh-analyzer.ts"
import type { Naming } from "../../src/identity/name-template.ts"
import { decodeAlsMessage } from "../../src/protocol/als-codec.ts"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { legacyPeerFilterState } from "../../sim/flat-node.ts"
import {
  alsMessageJson,
  inboundHttpEntry,
  istioPeerMetadata,
  outboundHttpEntry,
  peerFilterState,
  type Workload,
  workloadMetadata
} from "../../sim/istio-entries.ts"

const naming = mxNaming(DEFAULT_MX_SERVICE_NAME_RULE, DEFAULT_MX_INSTANCE_NAME_RULE)
const productpage: Workload = {
  name: "productpage-v1-7d9f-abcde",
  namespace: "bookinfo",
  ip: "10.1.0.5",
  labels: { app: "productpage", "service.istio.io/canonical-name": "productpage", version: "v1" },
  workloadName: "productpage-v1"
}
// The canonical name differs from the app label: every shape must pick the canonical name first.
const reviews: Workload = {
  ...productpage,
  name: "reviews-v2-55f-xyz",
  ip: "10.1.0.6",
  labels: { app: "reviews-app", "service.istio.io/canonical-name": "reviews", "service.istio.io/canonical-revision": "v2", version: "v2" },
  workloadName: "reviews-v2"
}
const peers = { client: productpage, server: reviews, port: 9080, host: "reviews.bookinfo.svc.cluster.local" }
const STRUCT = "type.googleapis.com/google.protobuf.Struct"

type Entry = { commonProperties: Record<string, unknown> }
/** An outbound entry from productpage whose upstream peer is logged as `filterState`. */
const withUpstream = (filterState: Record<string, unknown>): Entry => {
  const entry = outboundHttpEntry(call, peers) as Entry
  entry.commonProperties.filterStateObjects = filterState
  return entry
}

const resolve = (entries: ReadonlyArray<Record<string, unknown>>, reporter: Workload, rules: Naming = naming) => {
  const message = decodeAlsMessage(encodeAlsMessageJson(alsMessageJson({ http: entries }, { workload: reporter })))
  const stats = { peerDecodeFailures: 0 }
  const sides = message.entries.map(() => emptySides())
  makeMxMeshAnalyzer(rules, () => stats.peerDecodeFailures++)
    .forStream(parseNode(message.identifier!.node))
    .fill(message.entries, sides)
  return { sides, stats }
}

const call = { startMs: Date.UTC(2026, 0, 1), durationMs: 5 }
// WORKLOAD_NAME and CLUSTER_ID fill the optional fields the Istio-standard labels use.
const reviewsIdentity = {
  service: "reviews.bookinfo",
  instance: reviews.name,
  namespace: "bookinfo",
  labels: reviews.labels,
  workload: reviews.workloadName,
  cluster: reviews.clusterId ?? "Kubernetes"
}

describe("mx-mesh", () => {
  it("names a peer alike from Istio ≥ 1.24's Struct, older Istio's FlatNode and node metadata", () => {
    const { sides, stats } = resolve(
      [withUpstream({ upstream_peer: peerFilterState(reviews) }), withUpstream({ "wasm.upstream_peer": legacyPeerFilterState(reviews) })],
      productpage
    )
    const asLocal = resolve([inboundHttpEntry(call, peers)], reviews).sides[0].local
    // service = canonical name . namespace, instance = pod name, labels = Istio's workload labels.
    expect(sides[0].upstream).toEqual(reviewsIdentity)
    expect(sides[1].upstream).toEqual(reviewsIdentity)
    expect(asLocal).toEqual(reviewsIdentity)
    expect(sides[0].local).toEqual({
      service: "productpage.bookinfo",
      instance: productpage.name,
      namespace: "bookinfo",
      labels: productpage.labels,
      workload: productpage.workloadName,
      cluster: productpage.clusterId ?? "Kubernetes"
    })
    expect(stats.peerDecodeFailures).toBe(0)
  })

  it("names the caller from downstream_peer", () => {
    const { sides } = resolve([inboundHttpEntry(call, peers)], reviews)
    expect(sides[0].local?.service).toBe("reviews.bookinfo")
    expect(sides[0].downstream).toEqual({
      service: "productpage.bookinfo",
      instance: productpage.name,
      namespace: "bookinfo",
      labels: {
        app: "productpage",
        "service.istio.io/canonical-name": "productpage",
        "service.istio.io/canonical-revision": "v1",
        version: "v1"
      },
      workload: productpage.workloadName,
      cluster: productpage.clusterId ?? "Kubernetes"
    })
    expect(sides[0].upstream).toBeUndefined()
  })

  it("still reads a peer Struct with node-metadata keys (NAME, NAMESPACE, LABELS), as older fixtures send", () => {
    const { sides } = resolve([withUpstream({ upstream_peer: { "@type": STRUCT, value: workloadMetadata(reviews) } })], productpage)
    expect(sides[0].upstream).toEqual(reviewsIdentity)
  })

  it("keeps the ≥ 1.24 peer's workload, cluster, kind, revision, app, version and SPIFFE identity on the decoded metadata", () => {
    const decoded = decodeIstioMetadata(peerStructToNodeKeys(istioPeerMetadata({ ...reviews, clusterId: "east" }) as JsonObject))
    expect(decoded._tag === "Some" && decoded.value).toEqual({
      NAME: reviews.name,
      NAMESPACE: "bookinfo",
      CLUSTER_ID: "east",
      WORKLOAD_NAME: "reviews-v2",
      OWNER: "kubernetes://apis/apps/v1/namespaces/bookinfo/deployments/reviews-v2",
      IDENTITY: "spiffe://cluster.local/ns/bookinfo/sa/default",
      LABELS: {
        "service.istio.io/canonical-name": "reviews",
        "service.istio.io/canonical-revision": "v2",
        app: "reviews-app",
        version: "v2"
      }
    })
  })

  it("lets custom rules name any key, in any case: the ≥ 1.24 peer's own lowercase keys or the node-metadata ones", () => {
    const rules = mxNaming("${workload,WORKLOAD_NAME}@${Cluster_Id}", "${name}/${labels.team,LABELS.version}")
    const { sides } = resolve(
      [
        withUpstream({ upstream_peer: { "@type": STRUCT, value: { ...istioPeerMetadata(reviews), labels: { team: "books" } } } }),
        withUpstream({ "wasm.upstream_peer": legacyPeerFilterState(reviews) })
      ],
      productpage,
      rules
    )
    expect(sides[0].upstream).toMatchObject({ service: "reviews-v2@Kubernetes", instance: `${reviews.name}/books` })
    expect(sides[1].upstream).toMatchObject({ service: "reviews-v2@Kubernetes", instance: `${reviews.name}/v2` })
    // The local workload (node metadata) through the same rules.
    expect(sides[0].local).toMatchObject({ service: "productpage-v1@Kubernetes", instance: `${productpage.name}/v1` })
  })

  it("writes - for a field the metadata lacks, as SkyWalking does, and names nobody when the service rule finds nothing", () => {
    const { namespace: _namespace, ...noNamespace } = istioPeerMetadata(reviews)
    const { name: _name, ...noName } = istioPeerMetadata(reviews)
    const { sides, stats } = resolve(
      [
        withUpstream({ upstream_peer: { "@type": STRUCT, value: noNamespace } }),
        withUpstream({ upstream_peer: { "@type": STRUCT, value: noName } }),
        // SkyWalking takes a `-` value for a missing one and tries the next candidate (app).
        withUpstream({ upstream_peer: { "@type": STRUCT, value: { ...istioPeerMetadata(reviews), service: "-" } } }),
        withUpstream({ upstream_peer: { "@type": STRUCT, value: { name: "pod-0", type: "pod" } } })
      ],
      productpage
    )
    expect(sides[0].upstream).toMatchObject({ service: "reviews.-", instance: reviews.name, namespace: "" })
    expect(sides[1].upstream).toMatchObject({ service: "reviews.bookinfo", instance: "-" })
    expect(sides[2].upstream?.service).toBe("reviews-app.bookinfo")
    expect(sides[3].upstream).toBeUndefined()
    expect(stats.peerDecodeFailures).toBe(1)
  })

  it("treats an undecodable or mistyped peer as unknown and counts it, without affecting other entries", () => {
    const broken = withUpstream({
      upstream_peer: { "@type": "type.googleapis.com/google.protobuf.BytesValue", value: Buffer.from([0x0a, 0xff]).toString("base64") }
    })
    const brokenFlat = withUpstream({
      "wasm.upstream_peer": {
        "@type": "type.googleapis.com/google.protobuf.BytesValue",
        value: Buffer.from([0x0a, 0x02, 1, 2]).toString("base64")
      }
    })
    // Istio's metadata keys hold text; labels that are not text do not fit, whichever shape sends them.
    const mistyped = withUpstream({ upstream_peer: { "@type": STRUCT, value: { NAME: "x", NAMESPACE: "y", LABELS: { app: 3 } } } })
    const mistypedLower = withUpstream({
      upstream_peer: { "@type": STRUCT, value: { ...istioPeerMetadata(reviews), labels: { team: 3 } } }
    })
    const { sides, stats } = resolve([broken, brokenFlat, mistyped, mistypedLower, outboundHttpEntry(call, peers)], productpage)
    expect(sides.map((s) => s.upstream?.service)).toEqual([undefined, undefined, undefined, undefined, "reviews.bookinfo"])
    expect(stats.peerDecodeFailures).toBe(4)
  })

  it("decodes each distinct peer value once (cache), and fills only sides still unknown", () => {
    const { sides, stats } = resolve([outboundHttpEntry(call, peers), outboundHttpEntry(call, peers)], productpage)
    expect(sides[0].upstream).toBe(sides[1].upstream)
    expect(stats.peerDecodeFailures).toBe(0)
    const message = decodeAlsMessage(
      encodeAlsMessageJson(alsMessageJson({ http: [outboundHttpEntry(call, peers)] }, { workload: productpage }))
    )
    const preset = { local: undefined, downstream: undefined, upstream: { service: "already", instance: "i", namespace: "n", labels: {} } }
    makeMxMeshAnalyzer(naming, () => stats.peerDecodeFailures++)
      .forStream(parseNode(message.identifier!.node))
      .fill(message.entries, [preset])
    expect(preset.upstream.service).toBe("already")
  })

  it("hands out one identity object per workload: every stream's local one, and a peer in either encoding", () => {
    const analyzer = makeMxMeshAnalyzer(naming, () => {})
    const fillFrom = (entries: ReadonlyArray<Record<string, unknown>>, reporter: Workload) => {
      const message = decodeAlsMessage(encodeAlsMessageJson(alsMessageJson({ http: entries }, { workload: reporter })))
      const sides = message.entries.map(() => emptySides())
      analyzer.forStream(parseNode(message.identifier!.node)).fill(message.entries, sides)
      return sides[0]
    }
    // Two streams of productpage's proxy, one logging the peer as a Struct, the other as a FlatNode; one of reviews'.
    const viaStruct = fillFrom([withUpstream({ upstream_peer: peerFilterState(reviews) })], productpage)
    const viaFlatNode = fillFrom([withUpstream({ "wasm.upstream_peer": legacyPeerFilterState(reviews) })], productpage)
    const ofReviews = fillFrom([inboundHttpEntry(call, peers)], reviews)
    expect(viaStruct.local).toMatchObject({ service: "productpage.bookinfo" })
    expect(viaFlatNode.local).toBe(viaStruct.local)
    expect(viaStruct.upstream).toEqual(reviewsIdentity)
    expect(viaFlatNode.upstream).toBe(viaStruct.upstream)
    expect(ofReviews.local).toBe(viaStruct.upstream)
    // Another pod of the same workload is another identity.
    const otherPod = fillFrom([withUpstream({ upstream_peer: peerFilterState({ ...reviews, name: "reviews-v2-55f-abc" }) })], productpage)
    expect(otherPod.upstream).toMatchObject({ service: "reviews.bookinfo", instance: "reviews-v2-55f-abc" })
    expect(otherPod.upstream).not.toBe(viaStruct.upstream)
  })

  it("caches a copy of each peer value, not a view that would keep the whole message alive", async () => {
    setFlagsFromString("--expose-gc")
    const gc = runInNewContext("gc") as () => void
    const analyzer = makeMxMeshAnalyzer(naming, () => {})
    const encoded = encodeAlsMessageJson(alsMessageJson({ http: [outboundHttpEntry(call, peers)] }, { workload: productpage }))
    const resolveFrom = () => {
      // As grpc-js hands a message over: a Buffer with memory of its own (a Buffer's slice() is a view of it).
      const bytes = Buffer.alloc(encoded.length)
      bytes.set(encoded)
      const message = decodeAlsMessage(bytes)
      const sides = message.entries.map(() => emptySides())
      analyzer.forStream(parseNode(message.identifier!.node)).fill(message.entries, sides)
      return { message: new WeakRef(bytes.buffer), upstream: sides[0].upstream }
    }
    const first = resolveFrom()
    expect(first.upstream).toMatchObject({ service: "reviews.bookinfo" })
    // A WeakRef's target lives at least until the end of the job that made it.
    await new Promise((resolve) => setTimeout(resolve, 0))
    gc()
    expect(first.message.deref()).toBeUndefined()
    // The next message's equal value is still answered from the cache, by the same identity.
    expect(resolveFrom().upstream).toBe(first.upstream)
  })

  it("leaves the local workload unknown for proxies without Istio's workload metadata", () => {
    const message = decodeAlsMessage(
      encodeAlsMessageJson({
        identifier: {
          node: { id: "sidecar~10.0.0.1~x.default~default.svc.cluster.local", metadata: { istio: "sidecar" } },
          logName: "als"
        },
        httpLogs: { logEntry: [outboundHttpEntry(call, peers)] }
      })
    )
    const sides = [emptySides()]
    makeMxMeshAnalyzer(naming, () => {})
      .forStream(parseNode(message.identifier!.node))
      .fill(message.entries, sides)
    expect(sides[0].local).toBeUndefined()
    expect(sides[0].upstream?.service).toBe("reviews.bookinfo")
  })
})
