// The simulator's pre-generated messages: the same seed gives the same bytes, and the bytes decode with Envoy's
// official protos into what Istio's proxies send — node metadata on each stream's first message only, peers in
// filter state, addresses of one consistent cluster.
import { describe, expect, it } from "vitest"
import { decodeFlatNode } from "../../src/identity/mx-mesh/flat-node.ts"
import { officialRoot, StreamAccessLogsMessage } from "../../sim/envoy-protos.ts"
import { peerFormatOf } from "../../sim/istio-entries.ts"
import { generateMessages, type GeneratedStream } from "../../sim/messages.ts"
import { bookinfo, clusterObjects } from "../../sim/topology.ts"

const START_MS = Date.UTC(2026, 0, 1, 12, 0)
const Struct = officialRoot.lookupType("google.protobuf.Struct")
const BytesValue = officialRoot.lookupType("google.protobuf.BytesValue")
const TO_OBJECT = { longs: Number, enums: String, defaults: false }

const generate = (seed: number, peerFormat?: "struct" | "flatbuffer") =>
  generateMessages({ seed, entriesPerMessage: 20, messages: 60, startMs: START_MS, flush: true, ...(peerFormat ? { peerFormat } : {}) })

const decode = (bytes: Uint8Array): any => StreamAccessLogsMessage.toObject(StreamAccessLogsMessage.decode(bytes), TO_OBJECT)
const anyStruct = (any: any): any => {
  const value = (s: any): unknown => s.stringValue ?? (s.structValue ? fields(s.structValue) : (s.numberValue ?? s.boolValue))
  const fields = (st: any) => Object.fromEntries(Object.entries(st.fields ?? {}).map(([k, v]) => [k, value(v)]))
  return fields(Struct.toObject(Struct.decode(any.value)))
}
const flatNode = (any: any) => decodeFlatNode((BytesValue.decode(any.value) as any).value)
const entriesOf = (streams: ReadonlyArray<GeneratedStream>) =>
  streams.flatMap((s) =>
    s.messages
      .map(decode)
      .flatMap((m) => [...(m.httpLogs?.logEntry ?? []), ...(m.tcpLogs?.logEntry ?? [])].map((e: any) => ({ pod: s.pod, entry: e })))
  )

describe("generateMessages", () => {
  it("gives the same bytes for the same seed and different bytes for another", () => {
    const a = generate(7)
    const b = generate(7)
    expect(a.entries).toBe(b.entries)
    expect(a.streams.map((s) => s.pod.name)).toEqual(b.streams.map((s) => s.pod.name))
    expect(a.streams.map((s) => s.messages.map((m) => Buffer.from(m).toString("base64")))).toEqual(
      b.streams.map((s) => s.messages.map((m) => Buffer.from(m).toString("base64")))
    )
    const c = generate(8)
    expect(Buffer.concat(c.streams.flatMap((s) => s.messages))).not.toEqual(Buffer.concat(a.streams.flatMap((s) => s.messages)))
  })

  it("puts Istio's node metadata on each stream's first message only", () => {
    const { streams } = generate(1)
    expect(streams.length).toBe(15) // the gateway and 2 pods of each of bookinfo's 7 deployments
    for (const stream of streams) {
      const [first, ...rest] = stream.messages.map(decode)
      const pod = stream.pod
      const role = pod.service === "istio-ingressgateway" ? "router" : "sidecar"
      expect(first.identifier.node.id).toBe(`${role}~${pod.ip}~${pod.name}.${pod.namespace}~${pod.namespace}.svc.cluster.local`)
      expect(first.identifier.logName).toBe("envoy_accesslog_service")
      const metadata = first.identifier.node.metadata
      const text = (k: string) => metadata.fields[k].stringValue
      expect([text("NAME"), text("NAMESPACE"), text("WORKLOAD_NAME"), text("INSTANCE_IPS"), text("CLUSTER_ID"), text("MESH_ID")]).toEqual([
        pod.name,
        pod.namespace,
        pod.workloadName,
        pod.ip,
        "Kubernetes",
        "cluster.local"
      ])
      expect(text("OWNER")).toBe(`kubernetes://apis/apps/v1/namespaces/${pod.namespace}/deployments/${pod.workloadName}`)
      expect(metadata.fields.LABELS.structValue.fields["service.istio.io/canonical-name"].stringValue).toBe(pod.service)
      for (const message of rest) expect(message.identifier).toBeUndefined()
    }
  })

  it("logs each call on both proxies with each proxy's peer format, cluster IPs and mTLS on the server side", () => {
    const topology = bookinfo()
    const { streams } = generateMessages({ seed: 3, entriesPerMessage: 20, messages: 60, startMs: START_MS, flush: true, topology })
    const cluster = clusterObjects(topology)
    const podByIp = new Map(cluster.pods.map((p) => [p.ip, p]))
    const serviceByIp = new Map(cluster.services.map((s) => [s.clusterIp, s]))
    const entries = entriesOf(streams)
    const outbound = entries.filter((e) => e.entry.commonProperties.upstreamCluster.startsWith("outbound|"))
    const inbound = entries.filter((e) => e.entry.commonProperties.upstreamCluster.startsWith("inbound|"))
    expect(outbound.length).toBeGreaterThan(0)
    expect(inbound.length).toBeGreaterThan(0)
    for (const { pod, entry } of outbound) {
      const common = entry.commonProperties
      const callee = podByIp.get(common.upstreamRemoteAddress.socketAddress.address)!
      expect(common.upstreamCluster).toBe(
        `outbound|${common.upstreamRemoteAddress.socketAddress.portValue}||${callee.service}.${callee.namespace}.svc.cluster.local`
      )
      if (peerFormatOf(pod) === "flatbuffer") {
        expect(Object.keys(common.filterStateObjects)).toEqual(["wasm.upstream_peer"])
        expect(flatNode(common.filterStateObjects["wasm.upstream_peer"]).NAME).toBe(callee.name)
      } else {
        // Exactly the keys of istio/proxy's WorkloadMetadataObject::serializeAsProto (no extra labels configured).
        expect(Object.keys(common.filterStateObjects)).toEqual(["upstream_peer"])
        expect(anyStruct(common.filterStateObjects.upstream_peer)).toEqual({
          type: "deployment",
          workload: callee.deployment,
          name: callee.name,
          cluster: "Kubernetes",
          namespace: callee.namespace,
          service: callee.service,
          revision: callee.labels.version,
          app: callee.labels.app,
          version: callee.labels.version,
          identity: `spiffe://cluster.local/ns/${callee.namespace}/sa/${callee.serviceAccount}`
        })
      }
      if (pod.role === "sidecar") {
        expect(common.downstreamRemoteAddress.socketAddress.address).toBe(pod.ip)
        expect(serviceByIp.get(common.downstreamLocalAddress.socketAddress.address)?.name).toBe(callee.service)
      }
      expect(common.tlsProperties).toBeUndefined()
    }
    for (const { pod, entry } of inbound) {
      const common = entry.commonProperties
      expect(common.downstreamLocalAddress.socketAddress.address).toBe(pod.ip)
      const caller = podByIp.get(common.downstreamRemoteAddress.socketAddress.address)!
      const state = common.filterStateObjects
      expect(
        peerFormatOf(pod) === "flatbuffer" ? flatNode(state["wasm.downstream_peer"]).NAME : anyStruct(state.downstream_peer).name
      ).toBe(caller.name)
      if (entry.request) {
        expect(common.tlsProperties.localCertificateProperties.subjectAltName[0].uri).toBe(
          `spiffe://cluster.local/ns/${pod.namespace}/sa/${pod.serviceAccount}`
        )
        expect(common.tlsProperties.peerCertificateProperties.subjectAltName[0].uri).toBe(
          `spiffe://cluster.local/ns/${caller.namespace}/sa/${caller.serviceAccount}`
        )
      }
    }
  })

  it("makes TCP connections to mysql, errors with Envoy's response flags, and a slower reviews v3", () => {
    const entries = entriesOf(generate(5).streams)
    const tcp = entries.filter((e) => e.entry.connectionProperties)
    expect(new Set(tcp.map((e) => e.pod.service))).toEqual(new Set(["ratings", "mysql"]))
    expect(tcp.every((e) => e.entry.connectionProperties.receivedBytes > 0)).toBe(true)
    const inboundHttp = entries.filter((e) => e.entry.request && e.entry.commonProperties.upstreamCluster.startsWith("inbound|"))
    const codes = new Set(entries.filter((e) => e.entry.response).map((e) => e.entry.response.responseCode?.value ?? 0))
    expect([...codes].sort()).toEqual(expect.arrayContaining([200, 404]))
    expect([...codes].some((c) => c >= 500)).toBe(true)
    const flags = entries.flatMap((e) => Object.keys(e.entry.commonProperties.responseFlags ?? {}))
    expect(flags.length).toBeGreaterThan(0)
    const seconds = (d: any) => (d?.seconds ?? 0) + (d?.nanos ?? 0) / 1e9
    const median = (version: string) => {
      const xs = inboundHttp
        .filter((e) => e.pod.service === "reviews" && e.pod.version === version)
        .map((e) => seconds(e.entry.commonProperties.timeToLastDownstreamTxByte))
        .sort((a, b) => a - b)
      return xs[xs.length >> 1]
    }
    expect(median("v3")).toBeGreaterThan(median("v1") * 1.5)
  })

  it("mixes the peer formats as a mesh mid-upgrade: details-v1's and reviews-v2's proxies still run Istio 1.22", () => {
    const entries = entriesOf(generate(2).streams)
    const keys = (pods: ReadonlyArray<string>) =>
      new Set(
        entries
          .filter((e) => pods.includes(e.pod.workloadName))
          .flatMap((e) => Object.keys(e.entry.commonProperties.filterStateObjects ?? {}))
      )
    expect(keys(["details-v1", "reviews-v2"])).toEqual(new Set(["wasm.upstream_peer", "wasm.downstream_peer"]))
    expect(keys(["istio-ingressgateway-latest", "productpage-v1", "reviews-v1", "reviews-v3", "ratings-v1", "mysql-v1"])).toEqual(
      new Set(["upstream_peer", "downstream_peer"])
    )
    expect(
      entries.filter((e) => e.pod.workloadName === "reviews-v2").map((e) => e.entry.commonProperties.upstreamCluster.split("|")[0])
    ).toEqual(expect.arrayContaining(["inbound", "outbound"]))
  })

  it("logs peers as older Istio's FlatBuffer under wasm.* keys when asked", () => {
    const entries = entriesOf(generate(1, "flatbuffer").streams)
    const outbound = entries.find((e) => e.pod.role === "sidecar" && e.entry.commonProperties.upstreamCluster.startsWith("outbound|"))!
    const state = outbound.entry.commonProperties.filterStateObjects
    expect(Object.keys(state)).toEqual(["wasm.upstream_peer"])
    expect(state["wasm.upstream_peer"].type_url).toBe("type.googleapis.com/google.protobuf.BytesValue")
    const peer = flatNode(state["wasm.upstream_peer"])
    const callee = clusterObjects(bookinfo()).pods.find(
      (p) => p.ip === outbound.entry.commonProperties.upstreamRemoteAddress.socketAddress.address
    )!
    expect([peer.NAME, peer.NAMESPACE, peer.WORKLOAD_NAME]).toEqual([callee.name, callee.namespace, callee.deployment])
  })
})

describe("clusterObjects", () => {
  it("lists every pod once with a unique IP inside its node's pod range, and each service with its pods as endpoints", () => {
    const cluster = clusterObjects(bookinfo({ instances: 3, extraServices: 2 }))
    expect(new Set(cluster.pods.map((p) => p.ip)).size).toBe(cluster.pods.length)
    expect(cluster.nodes.length).toBe(3)
    for (const pod of cluster.pods) {
      expect(pod.ip).toMatch(/^10\.44\.\d+\.\d+$/)
      expect(cluster.nodes.find((n) => n.name === pod.nodeName)?.ip).toBe(pod.hostIp)
    }
    expect(cluster.services.map((s) => `${s.namespace}/${s.name}`)).toEqual([
      "istio-system/istio-ingressgateway",
      "default/productpage",
      "default/details",
      "default/reviews",
      "default/ratings",
      "default/mysql",
      "default/extra-0",
      "default/extra-1"
    ])
    const reviews = cluster.services.find((s) => s.name === "reviews")!
    expect(reviews.endpoints.length).toBe(9) // v1, v2, v3 × 3
    expect(cluster.services.find((s) => s.name === "mysql")?.port).toBe(3306)
  })
})
