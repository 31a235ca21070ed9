// Builders for Envoy ALS messages shaped as Istio's proxies send them, in the proto3 JSON mapping
// (encode with ./envoy-protos.ts). Shared by the traffic simulator, the benchmarks and the tests.

export interface Workload {
  /** Pod name. */
  readonly name: string
  readonly namespace: string
  readonly ip: string
  readonly labels: Readonly<Record<string, string>>
  /** Deployment (or other owner) name. */
  readonly workloadName: string
  readonly clusterId?: string
  readonly meshId?: string
}

export type Role = "sidecar" | "router" | "waypoint"

/** Istio's node metadata keys that describe a workload (the same keys appear in peer metadata). */
export const workloadMetadata = (w: Workload): Record<string, unknown> => ({
  NAME: w.name,
  NAMESPACE: w.namespace,
  LABELS: { ...w.labels },
  WORKLOAD_NAME: w.workloadName,
  OWNER: `kubernetes://apis/apps/v1/namespaces/${w.namespace}/deployments/${w.workloadName}`,
  CLUSTER_ID: w.clusterId ?? "Kubernetes",
  MESH_ID: w.meshId ?? "cluster.local",
  INSTANCE_IPS: w.ip
})

/** envoy.config.core.v3.Node as an Istio proxy reports it: id `ROLE~IP~POD.NS~NS.svc.cluster.local`. */
export const istioNodeJson = (w: Workload, role: Role = "sidecar"): Record<string, unknown> => ({
  id: `${role}~${w.ip}~${w.name}.${w.namespace}~${w.namespace}.svc.cluster.local`,
  cluster: `${w.labels["service.istio.io/canonical-name"] ?? w.labels.app ?? w.workloadName}.${w.namespace}`,
  metadata: { ...workloadMetadata(w), ISTIO_VERSION: "1.26.0" }
})

/** Istio ≥ 1.24: `upstream_peer` / `downstream_peer` filter state, an Any wrapping a Struct. */
export const peerFilterState = (w: Workload): Record<string, unknown> => ({
  "@type": "type.googleapis.com/google.protobuf.Struct",
  value: workloadMetadata(w)
})

const address = (ip: string, port: number) => ({ socketAddress: { address: ip, portValue: port } })
const seconds = (ms: number) => `${(ms / 1000).toFixed(9)}s`

export interface HttpCall {
  /** Epoch ms. */
  readonly startMs: number
  /** Total time to the last byte sent downstream, ms. */
  readonly durationMs: number
  readonly method?: string
  readonly path?: string
  readonly scheme?: string
  readonly authority?: string
  readonly protocolVersion?: "HTTP10" | "HTTP11" | "HTTP2" | "HTTP3"
  readonly code?: number
  readonly grpcStatus?: number
  readonly responseFlags?: Readonly<Record<string, boolean>>
  readonly mtls?: boolean
}

interface Sides {
  readonly upstreamCluster: string
  readonly downstreamRemote: readonly [string, number]
  readonly downstreamLocal: readonly [string, number]
  readonly upstreamRemote: readonly [string, number] | undefined
  readonly filterState: Readonly<Record<string, unknown>>
}

const commonJson = (call: HttpCall, s: Sides): Record<string, unknown> => {
  // Envoy's timings: the proxy forwards after ~0.2 ms, the upstream answers just before the proxy does.
  const proxyMs = Math.min(0.2, call.durationMs / 10)
  return {
    downstreamRemoteAddress: address(...s.downstreamRemote),
    downstreamLocalAddress: address(...s.downstreamLocal),
    ...(s.upstreamRemote ? { upstreamRemoteAddress: address(...s.upstreamRemote) } : {}),
    upstreamCluster: s.upstreamCluster,
    startTime: new Date(Math.floor(call.startMs)).toISOString(),
    timeToLastRxByte: seconds(proxyMs / 2),
    timeToFirstUpstreamTxByte: seconds(proxyMs),
    timeToLastUpstreamTxByte: seconds(proxyMs),
    timeToFirstUpstreamRxByte: seconds(call.durationMs - proxyMs),
    timeToLastUpstreamRxByte: seconds(call.durationMs - proxyMs / 2),
    timeToFirstDownstreamTxByte: seconds(call.durationMs - proxyMs / 2),
    timeToLastDownstreamTxByte: seconds(call.durationMs),
    ...(call.responseFlags ? { responseFlags: call.responseFlags } : {}),
    ...(call.mtls
      ? {
          tlsProperties: {
            tlsVersion: "TLSv1_3",
            localCertificateProperties: { subjectAltName: [{ uri: "spiffe://cluster.local/ns/local/sa/default" }] },
            peerCertificateProperties: { subjectAltName: [{ uri: "spiffe://cluster.local/ns/peer/sa/default" }] }
          }
        }
      : {}),
    ...(Object.keys(s.filterState).length > 0 ? { filterStateObjects: s.filterState } : {})
  }
}

const httpJson = (call: HttpCall, s: Sides): Record<string, unknown> => ({
  commonProperties: commonJson(call, s),
  protocolVersion: call.protocolVersion ?? "HTTP11",
  request: {
    requestMethod: call.method ?? "GET",
    scheme: call.scheme ?? "http",
    authority: call.authority ?? "",
    path: call.path ?? "/"
  },
  response: {
    responseCode: call.code ?? 200,
    ...(call.grpcStatus !== undefined ? { responseTrailers: { "grpc-status": String(call.grpcStatus) } } : {})
  }
})

export interface CallPeers {
  readonly client: Workload
  readonly server: Workload
  /** The server's service port. */
  readonly port: number
  /** The Kubernetes Service host the client called, e.g. `reviews.default.svc.cluster.local`. */
  readonly host: string
}

/**
 * The client sidecar's entry of a call: `outbound|PORT||HOST`, upstream peer = the server. The sidecar
 * intercepts the application's connection to the Service's cluster IP, so the downstream is the client pod itself.
 */
export const outboundHttpEntry = (call: HttpCall, p: CallPeers, clientPort = 40000): Record<string, unknown> =>
  httpJson(call, {
    upstreamCluster: `outbound|${p.port}||${p.host}`,
    downstreamRemote: [p.client.ip, clientPort],
    downstreamLocal: ["10.96.0.10", p.port],
    upstreamRemote: [p.server.ip, p.port],
    filterState: { upstream_peer: peerFilterState(p.server) }
  })

/** The server sidecar's entry of a call: `inbound|PORT||`, downstream peer = the client. */
export const inboundHttpEntry = (call: HttpCall, p: CallPeers, clientPort = 40000): Record<string, unknown> =>
  httpJson(call, {
    upstreamCluster: `inbound|${p.port}||`,
    downstreamRemote: [p.client.ip, clientPort],
    downstreamLocal: [p.server.ip, p.port],
    upstreamRemote: ["127.0.0.1", p.port],
    filterState: { downstream_peer: peerFilterState(p.client) }
  })

export interface TcpCall {
  readonly startMs: number
  readonly durationMs: number
  readonly receivedBytes: number
  readonly sentBytes: number
}

const tcpJson = (call: TcpCall, s: Sides): Record<string, unknown> => ({
  commonProperties: commonJson({ startMs: call.startMs, durationMs: call.durationMs }, s),
  connectionProperties: { receivedBytes: String(call.receivedBytes), sentBytes: String(call.sentBytes) }
})

export const outboundTcpEntry = (call: TcpCall, p: CallPeers, clientPort = 40000): Record<string, unknown> =>
  tcpJson(call, {
    upstreamCluster: `outbound|${p.port}||${p.host}`,
    downstreamRemote: [p.client.ip, clientPort],
    downstreamLocal: ["10.96.0.10", p.port],
    upstreamRemote: [p.server.ip, p.port],
    filterState: { upstream_peer: peerFilterState(p.server) }
  })

export const inboundTcpEntry = (call: TcpCall, p: CallPeers, clientPort = 40000): Record<string, unknown> =>
  tcpJson(call, {
    upstreamCluster: `inbound|${p.port}||`,
    downstreamRemote: [p.client.ip, clientPort],
    downstreamLocal: [p.server.ip, p.port],
    upstreamRemote: ["127.0.0.1", p.port],
    filterState: { downstream_peer: peerFilterState(p.client) }
  })

/**
 * A gateway's entry: one entry describes both hops (outside → gateway, gateway → upstream). `caller` is the
 * outside client's address; a caller inside the mesh also yields a `downstream_peer`.
 */
export const gatewayHttpEntry = (
  call: HttpCall,
  gateway: Workload,
  upstream: { readonly workload: Workload; readonly port: number; readonly host: string },
  caller: { readonly ip: string; readonly port: number; readonly workload?: Workload }
): Record<string, unknown> =>
  httpJson(call, {
    upstreamCluster: `outbound|${upstream.port}||${upstream.host}`,
    downstreamRemote: [caller.ip, caller.port],
    downstreamLocal: [gateway.ip, 8080],
    upstreamRemote: [upstream.workload.ip, upstream.port],
    filterState: {
      upstream_peer: peerFilterState(upstream.workload),
      ...(caller.workload ? { downstream_peer: peerFilterState(caller.workload) } : {})
    }
  })

/** A StreamAccessLogsMessage; the identifier goes on a stream's first message only, as Envoy does. */
export const alsMessageJson = (
  entries: { readonly http?: ReadonlyArray<unknown>; readonly tcp?: ReadonlyArray<unknown> },
  node?: { readonly workload: Workload; readonly role?: Role }
): Record<string, unknown> => ({
  ...(node ? { identifier: { node: istioNodeJson(node.workload, node.role), logName: "envoy_accesslog_service" } } : {}),
  ...(entries.http ? { httpLogs: { logEntry: entries.http } } : {}),
  ...(entries.tcp ? { tcpLogs: { logEntry: entries.tcp } } : {})
})
