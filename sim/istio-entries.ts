// Builders for Envoy ALS messages shaped as Istio's proxies send them, in the proto3 JSON mapping
// (encode with ./envoy-protos.ts). Shared by the traffic simulator, the benchmarks and the tests.
import { legacyPeerFilterState } from "./flat-node.ts"

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
  /** Kubernetes service account, the `sa` of the workload's SPIFFE identity (default `default`). */
  readonly serviceAccount?: string
  /** The Istio version of the workload's proxy (default 1.26.0); before 1.24 it logs peers as a FlatNode. */
  readonly istioVersion?: string
}

export type Role = "sidecar" | "router" | "waypoint"

const DEFAULT_ISTIO_VERSION = "1.26.0"

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
  metadata: {
    ...workloadMetadata(w),
    ISTIO_VERSION: w.istioVersion ?? DEFAULT_ISTIO_VERSION,
    SERVICE_ACCOUNT: w.serviceAccount ?? "default",
    INTERCEPTION_MODE: "REDIRECT",
    ...(role === "sidecar" ? { APP_CONTAINERS: w.labels.app ?? w.workloadName } : {})
  }
})

/**
 * The Struct Istio ≥ 1.24 logs as peer metadata: `WorkloadMetadataObject::serializeAsProto` (istio/proxy
 * extensions/common/metadata_object.cc), lowercase keys unlike node metadata. `service` and `revision` are the
 * canonical name and revision (Istio's defaults when the labels are absent: the app label or workload name, the
 * version label or `latest`); `labels` would hold only extra labels configured for the exchange, none here.
 */
export const istioPeerMetadata = (w: Workload): Record<string, unknown> => {
  const app = w.labels["app.kubernetes.io/name"] ?? w.labels.app
  const version = w.labels["app.kubernetes.io/version"] ?? w.labels.version
  return {
    type: "deployment",
    workload: w.workloadName,
    name: w.name,
    cluster: w.clusterId ?? "Kubernetes",
    namespace: w.namespace,
    service: w.labels["service.istio.io/canonical-name"] ?? app ?? w.workloadName,
    revision: w.labels["service.istio.io/canonical-revision"] ?? version ?? "latest",
    ...(app !== undefined ? { app } : {}),
    ...(version !== undefined ? { version } : {}),
    identity: spiffeId(w)
  }
}

/**
 * One shared, frozen value per workload and format: the encoder (./envoy-protos.ts) then encodes each peer's Any
 * once, which is most of the cost of an entry.
 */
const memoByWorkload = (make: (w: Workload) => Record<string, unknown>) => {
  const memo = new WeakMap<Workload, Record<string, unknown>>()
  return (w: Workload): Record<string, unknown> => {
    let value = memo.get(w)
    if (value === undefined) memo.set(w, (value = Object.freeze(make(w))))
    return value
  }
}

/** Istio ≥ 1.24: `upstream_peer` / `downstream_peer` filter state, an Any wrapping a Struct. */
export const peerFilterState = memoByWorkload((w) => ({
  "@type": "type.googleapis.com/google.protobuf.Struct",
  value: istioPeerMetadata(w)
}))

const legacyPeer = memoByWorkload(legacyPeerFilterState)

/** How peers are logged: Istio ≥ 1.24 Struct (`*_peer`) or older Istio's FlatBuffer (`wasm.*_peer`). */
export type PeerFormat = "struct" | "flatbuffer"

/** The format the proxy of `w` logs peers in, from its Istio version. */
export const peerFormatOf = (w: Workload): PeerFormat => {
  const [major, minor] = (w.istioVersion ?? DEFAULT_ISTIO_VERSION).split(".").map(Number)
  return major > 1 || (major === 1 && minor >= 24) ? "struct" : "flatbuffer"
}

const peerState = (side: "upstream" | "downstream", w: Workload, format: PeerFormat): Record<string, unknown> =>
  format === "struct" ? { [`${side}_peer`]: peerFilterState(w) } : { [`wasm.${side}_peer`]: legacyPeer(w) }

/** The SPIFFE identity Istio issues a workload: `spiffe://TRUST_DOMAIN/ns/NS/sa/SA`. */
export const spiffeId = (w: Workload): string =>
  `spiffe://${w.meshId ?? "cluster.local"}/ns/${w.namespace}/sa/${w.serviceAccount ?? "default"}`

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
  /** Istio mTLS between the sidecars: shows on the server side's (inbound) entry only. */
  readonly mtls?: boolean
  /** `x-request-id`, which Envoy logs as HTTPRequestProperties.request_id. */
  readonly requestId?: string
  readonly userAgent?: string
  /** Request headers Envoy was told to log (`additional_request_headers_to_log`), e.g. `traceparent`. */
  readonly requestHeaders?: Readonly<Record<string, string>>
}

interface Sides {
  readonly upstreamCluster: string
  readonly downstreamRemote: readonly [string, number]
  readonly downstreamLocal: readonly [string, number]
  readonly upstreamRemote: readonly [string, number] | undefined
  readonly filterState: Readonly<Record<string, unknown>>
  /**
   * Envoy's `tls_properties` describe the downstream connection: mTLS between sidecars arrives at the server's
   * inbound listener; the client app talks to its own sidecar in plain text.
   */
  readonly tls: { readonly local: Workload; readonly peer: Workload } | undefined
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
    ...(call.mtls && s.tls
      ? {
          tlsProperties: {
            tlsVersion: "TLSv1_3",
            localCertificateProperties: { subjectAltName: [{ uri: spiffeId(s.tls.local) }] },
            peerCertificateProperties: { subjectAltName: [{ uri: spiffeId(s.tls.peer) }] }
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
    path: call.path ?? "/",
    ...(call.requestId !== undefined ? { requestId: call.requestId } : {}),
    ...(call.userAgent !== undefined ? { userAgent: call.userAgent } : {}),
    ...(call.requestHeaders !== undefined ? { requestHeaders: call.requestHeaders } : {})
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
  /** The Service's cluster IP, which the client's connection was addressed to (default 10.96.0.10). */
  readonly serviceIp?: string
  /** Default: the logging proxy's own (`peerFormatOf`), the client's for outbound entries, the server's for inbound. */
  readonly peerFormat?: PeerFormat
}

/**
 * The client sidecar's side of a call: `outbound|PORT||HOST`, upstream peer = the server. The sidecar intercepts
 * the application's connection to the Service's cluster IP, so the downstream is the client pod itself and the
 * downstream local address is the cluster IP.
 */
const outboundSides = (p: CallPeers, clientPort: number): Sides => ({
  upstreamCluster: `outbound|${p.port}||${p.host}`,
  downstreamRemote: [p.client.ip, clientPort],
  downstreamLocal: [p.serviceIp ?? "10.96.0.10", p.port],
  upstreamRemote: [p.server.ip, p.port],
  filterState: peerState("upstream", p.server, p.peerFormat ?? peerFormatOf(p.client)),
  tls: undefined
})

/** The server sidecar's side of a call: `inbound|PORT||`, downstream peer = the client. */
const inboundSides = (p: CallPeers, clientPort: number): Sides => ({
  upstreamCluster: `inbound|${p.port}||`,
  downstreamRemote: [p.client.ip, clientPort],
  downstreamLocal: [p.server.ip, p.port],
  upstreamRemote: ["127.0.0.1", p.port],
  filterState: peerState("downstream", p.client, p.peerFormat ?? peerFormatOf(p.server)),
  tls: { local: p.server, peer: p.client }
})

export const outboundHttpEntry = (call: HttpCall, p: CallPeers, clientPort = 40000): Record<string, unknown> =>
  httpJson(call, outboundSides(p, clientPort))

export const inboundHttpEntry = (call: HttpCall, p: CallPeers, clientPort = 40000): Record<string, unknown> =>
  httpJson(call, inboundSides(p, clientPort))

export interface TcpCall {
  readonly startMs: number
  readonly durationMs: number
  readonly receivedBytes: number
  readonly sentBytes: number
  readonly responseFlags?: Readonly<Record<string, boolean>>
}

const tcpJson = (call: TcpCall, s: Sides): Record<string, unknown> => ({
  commonProperties: commonJson(
    { startMs: call.startMs, durationMs: call.durationMs, ...(call.responseFlags ? { responseFlags: call.responseFlags } : {}) },
    s
  ),
  connectionProperties: { receivedBytes: String(call.receivedBytes), sentBytes: String(call.sentBytes) }
})

export const outboundTcpEntry = (call: TcpCall, p: CallPeers, clientPort = 40000): Record<string, unknown> =>
  tcpJson(call, outboundSides(p, clientPort))

export const inboundTcpEntry = (call: TcpCall, p: CallPeers, clientPort = 40000): Record<string, unknown> =>
  tcpJson(call, inboundSides(p, clientPort))

/**
 * A gateway's entry: one entry describes both hops (outside → gateway, gateway → upstream). `caller` is the
 * outside client's address; a caller inside the mesh also yields a `downstream_peer`.
 */
export const gatewayHttpEntry = (
  call: HttpCall,
  gateway: Workload,
  upstream: { readonly workload: Workload; readonly port: number; readonly host: string; readonly peerFormat?: PeerFormat },
  caller: { readonly ip: string; readonly port: number; readonly workload?: Workload }
): Record<string, unknown> => {
  const format = upstream.peerFormat ?? peerFormatOf(gateway)
  return httpJson(call, {
    upstreamCluster: `outbound|${upstream.port}||${upstream.host}`,
    downstreamRemote: [caller.ip, caller.port],
    downstreamLocal: [gateway.ip, 8080],
    upstreamRemote: [upstream.workload.ip, upstream.port],
    filterState: {
      ...peerState("upstream", upstream.workload, format),
      ...(caller.workload ? peerState("downstream", caller.workload, format) : {})
    },
    // The simulated outside callers use plain HTTP (the mTLS hop is gateway → upstream, not logged here).
    tls: undefined
  })
}

/** A StreamAccessLogsMessage; the identifier goes on a stream's first message only, as Envoy does. */
export const alsMessageJson = (
  entries: { readonly http?: ReadonlyArray<unknown>; readonly tcp?: ReadonlyArray<unknown> },
  node?: { readonly workload: Workload; readonly role?: Role }
): Record<string, unknown> => ({
  ...(node ? { identifier: { node: istioNodeJson(node.workload, node.role), logName: "envoy_accesslog_service" } } : {}),
  ...(entries.http ? { httpLogs: { logEntry: entries.http } } : {}),
  ...(entries.tcp ? { tcpLogs: { logEntry: entries.tcp } } : {})
})
