// Golden records: crafted Istio entries (encoded with Envoy's official protos) through decode → mx-mesh → analyze,
// with peers logged as Istio ≥ 1.24's Struct, as older Istio's FlatNode, and both mixed, on a sidecar's both sides
// and a gateway's. Every peer shape yields the same records: identities, detect points, endpoints, latencies,
// codes, success.
import { describe, expect, it } from "vitest"
import { analyze } from "../../src/analysis/analyze.ts"
import { makeEndpointNamer } from "../../src/analysis/endpoint-names.ts"
import { NO_RULES } from "../../src/analysis/endpoint-rules.ts"
import { DEFAULT_MX_INSTANCE_NAME_RULE, DEFAULT_MX_SERVICE_NAME_RULE } from "../../src/identity/mx-mesh/mx-mesh-analyzer.ts"
import { emptySides } from "../../src/domain/identity.ts"
import type { MeshMetric } from "../../src/domain/mesh-metric.ts"
import { parseNode } from "../../src/domain/node.ts"
import { makeMxMeshAnalyzer, mxNaming } from "../../src/identity/mx-mesh/mx-mesh-analyzer.ts"
import { decodeAlsMessage } from "../../src/protocol/als-codec.ts"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import {
  alsMessageJson,
  gatewayHttpEntry,
  type HttpCall,
  inboundHttpEntry,
  inboundTcpEntry,
  outboundHttpEntry,
  type PeerFormat,
  type Role,
  type Workload
} from "../../sim/istio-entries.ts"

const labels = (service: string, version: string) => ({
  app: service,
  version,
  "service.istio.io/canonical-name": service,
  "service.istio.io/canonical-revision": version
})
const gateway: Workload = {
  name: "istio-ingressgateway-7c9-abcde",
  namespace: "istio-system",
  ip: "10.3.0.2",
  labels: labels("istio-ingressgateway", "latest"),
  workloadName: "istio-ingressgateway"
}
const productpage: Workload = {
  name: "productpage-v1-5d9-aaaaa",
  namespace: "bookinfo",
  ip: "10.3.0.5",
  labels: labels("productpage", "v1"),
  workloadName: "productpage-v1"
}
const reviews: Workload = {
  name: "reviews-v2-66f-bbbbb",
  namespace: "bookinfo",
  ip: "10.3.0.6",
  labels: labels("reviews", "v2"),
  workloadName: "reviews-v2"
}
const mysql: Workload = {
  name: "mysql-v1-77c-ccccc",
  namespace: "bookinfo",
  ip: "10.3.0.7",
  labels: labels("mysql", "v1"),
  workloadName: "mysql-v1"
}

const naming = mxNaming(DEFAULT_MX_SERVICE_NAME_RULE, DEFAULT_MX_INSTANCE_NAME_RULE)
const START = Date.UTC(2026, 2, 1, 10, 0)

/** The records of one stream's message from `reporter`'s proxy, reduced to what a user sees. */
const records = (reporter: Workload, role: Role, entries: { http?: ReadonlyArray<unknown>; tcp?: ReadonlyArray<unknown> }) => {
  const message = decodeAlsMessage(encodeAlsMessageJson(alsMessageJson(entries, { workload: reporter, role })))
  const node = parseNode(message.identifier!.node)
  const sides = message.entries.map(() => emptySides())
  let failures = 0
  makeMxMeshAnalyzer(naming, () => failures++)
    .forStream(node)
    .fill(message.entries, sides)
  const misses = { local: 0, source: 0, destination: 0 }
  const out = analyze(node, message.entries, sides, misses, makeEndpointNamer(NO_RULES)).map(view)
  return { records: out, misses, failures }
}

const who = (w: MeshMetric["source"]) => (w === undefined ? undefined : `${w.service} ${w.instance}`)
const view = (r: MeshMetric) => ({
  role: r.role,
  detectPoint: r.detectPoint,
  source: who(r.source),
  destination: who(r.destination),
  endpoint: r.endpoint,
  startTimeMs: r.startTimeMs - START,
  latencyMs: r.latencyMs,
  responseCode: r.responseCode,
  success: r.success,
  protocol: r.protocol,
  tlsMode: r.tlsMode,
  internalErrorCode: r.internalErrorCode,
  receivedBytes: r.receivedBytes,
  sentBytes: r.sentBytes
})

// The builders' timings (sim/istio-entries.ts): the proxy forwards after 0.2 ms, the last upstream byte arrives
// 0.1 ms before the last byte sent downstream at `durationMs`. Server latency = last downstream byte (25 ms);
// client latency = last upstream byte − first upstream byte, each truncated to whole ms (24 − 0 = 24 ms).
const ok: HttpCall = { startMs: START, durationMs: 25, method: "GET", path: "/reviews/1?u=2", code: 200, mtls: true }
const failed: HttpCall = { ...ok, path: "/reviews/2", code: 503, responseFlags: { upstreamConnectionFailure: true } }
const notFound: HttpCall = { ...ok, path: "/reviews/9", code: 404 }
const toReviews = (peerFormat: PeerFormat) => ({
  client: productpage,
  server: reviews,
  port: 9080,
  host: "reviews.bookinfo.svc.cluster.local",
  peerFormat
})

const PRODUCTPAGE = `productpage.bookinfo ${productpage.name}`
const REVIEWS = `reviews.bookinfo ${reviews.name}`
const GATEWAY = `istio-ingressgateway.istio-system ${gateway.name}`
const base = { receivedBytes: 0, sentBytes: 0, internalErrorCode: "", protocol: "HTTP" }

const clientSide = [
  {
    ...base,
    role: "sidecar",
    detectPoint: "client",
    source: PRODUCTPAGE,
    destination: REVIEWS,
    endpoint: "GET:/reviews/1",
    startTimeMs: 0,
    latencyMs: 24,
    responseCode: 200,
    success: true,
    tlsMode: "NONE"
  },
  {
    ...base,
    role: "sidecar",
    detectPoint: "client",
    source: PRODUCTPAGE,
    destination: REVIEWS,
    endpoint: "GET:/reviews/2",
    startTimeMs: 0,
    latencyMs: 24,
    responseCode: 503,
    success: false,
    tlsMode: "NONE",
    internalErrorCode: "upstream_connection_failure"
  },
  // A client-side 4xx is a failure (code < 400 succeeds).
  {
    ...base,
    role: "sidecar",
    detectPoint: "client",
    source: PRODUCTPAGE,
    destination: REVIEWS,
    endpoint: "GET:/reviews/9",
    startTimeMs: 0,
    latencyMs: 24,
    responseCode: 404,
    success: false,
    tlsMode: "NONE"
  }
]
const serverSide = [
  {
    ...base,
    role: "sidecar",
    detectPoint: "server",
    source: PRODUCTPAGE,
    destination: REVIEWS,
    endpoint: "GET:/reviews/1",
    startTimeMs: 0,
    latencyMs: 25,
    responseCode: 200,
    success: true,
    tlsMode: "mTLS"
  },
  {
    ...base,
    role: "sidecar",
    detectPoint: "server",
    source: PRODUCTPAGE,
    destination: REVIEWS,
    endpoint: "GET:/reviews/2",
    startTimeMs: 0,
    latencyMs: 25,
    responseCode: 503,
    success: false,
    tlsMode: "mTLS",
    internalErrorCode: "upstream_connection_failure"
  },
  // A server-side 4xx succeeds (code < 500).
  {
    ...base,
    role: "sidecar",
    detectPoint: "server",
    source: PRODUCTPAGE,
    destination: REVIEWS,
    endpoint: "GET:/reviews/9",
    startTimeMs: 0,
    latencyMs: 25,
    responseCode: 404,
    success: true,
    tlsMode: "mTLS"
  }
]

describe("mx-mesh records", () => {
  for (const format of ["struct", "flatbuffer"] as const) {
    it(`a sidecar's client side (${format} peers): the caller's outbound entries name the callee`, () => {
      const peers = toReviews(format)
      const out = records(productpage, "sidecar", {
        http: [outboundHttpEntry(ok, peers), outboundHttpEntry(failed, peers), outboundHttpEntry(notFound, peers)]
      })
      expect(out).toEqual({ records: clientSide, misses: { local: 0, source: 0, destination: 0 }, failures: 0 })
    })

    it(`a sidecar's server side (${format} peers): the callee's inbound entries name the caller`, () => {
      const peers = toReviews(format)
      const out = records(reviews, "sidecar", {
        http: [inboundHttpEntry(ok, peers), inboundHttpEntry(failed, peers), inboundHttpEntry(notFound, peers)]
      })
      expect(out).toEqual({ records: serverSide, misses: { local: 0, source: 0, destination: 0 }, failures: 0 })
    })

    it(`a gateway's both hops (${format} peers): an outside caller is UNKNOWN, a caller in the mesh is named`, () => {
      const upstream = { workload: productpage, port: 9080, host: "productpage.bookinfo.svc.cluster.local", peerFormat: format }
      const call: HttpCall = { ...ok, path: "/productpage", mtls: false }
      const out = records(gateway, "router", {
        http: [
          gatewayHttpEntry(call, gateway, upstream, { ip: "203.0.113.9", port: 51000 }),
          gatewayHttpEntry({ ...call, code: 502 }, gateway, upstream, { ip: reviews.ip, port: 51001, workload: reviews })
        ]
      })
      const hop = { ...base, role: "proxy", endpoint: "GET:/productpage", startTimeMs: 0, tlsMode: "NONE" }
      expect(out).toEqual({
        records: [
          { ...hop, detectPoint: "server", source: "UNKNOWN ", destination: GATEWAY, latencyMs: 25, responseCode: 200, success: true },
          {
            ...hop,
            detectPoint: "client",
            source: GATEWAY,
            destination: `productpage.bookinfo ${productpage.name}`,
            latencyMs: 24,
            responseCode: 200,
            success: true
          },
          { ...hop, detectPoint: "server", source: REVIEWS, destination: GATEWAY, latencyMs: 25, responseCode: 502, success: false },
          {
            ...hop,
            detectPoint: "client",
            source: GATEWAY,
            destination: `productpage.bookinfo ${productpage.name}`,
            latencyMs: 24,
            responseCode: 502,
            success: false
          }
        ],
        misses: { local: 0, source: 1, destination: 0 },
        failures: 0
      })
    })
  }

  it("a message mixing both peer shapes (a mesh mid-upgrade) gives the records of either alone", () => {
    const out = records(reviews, "sidecar", {
      http: [
        inboundHttpEntry(ok, toReviews("struct")),
        inboundHttpEntry(failed, toReviews("flatbuffer")),
        inboundHttpEntry(notFound, toReviews("struct"))
      ]
    })
    expect(out).toEqual({ records: serverSide, misses: { local: 0, source: 0, destination: 0 }, failures: 0 })
  })

  it("TCP: the server side of a connection with its bytes, from either peer shape", () => {
    for (const peerFormat of ["struct", "flatbuffer"] as const) {
      const peers = { client: reviews, server: mysql, port: 3306, host: "mysql.bookinfo.svc.cluster.local", peerFormat }
      const out = records(mysql, "sidecar", {
        tcp: [inboundTcpEntry({ startMs: START, durationMs: 40, receivedBytes: 300, sentBytes: 120 }, peers)]
      })
      expect(out.records).toEqual([
        {
          ...base,
          role: "sidecar",
          detectPoint: "server",
          source: REVIEWS,
          destination: `mysql.bookinfo ${mysql.name}`,
          endpoint: "",
          startTimeMs: 0,
          latencyMs: 40,
          responseCode: 0,
          success: true,
          protocol: "TCP",
          // The TCP builder logs no TLS properties.
          tlsMode: "NONE",
          receivedBytes: 300,
          sentBytes: 120
        }
      ])
    }
  })
})
