// The simulated mesh: a bookinfo-like application (ingress gateway → productpage → details, reviews v1/v2/v3 →
// ratings → mysql over TCP), optionally with more services, as pods with Istio's labels and IPs of one simulated
// cluster, in the middle of an Istio upgrade: the proxies of details-v1 and reviews-v2 still run Istio 1.22 and log
// peers as a FlatNode (`wasm.*_peer`), all others run 1.26 (Istio ≥ 1.24's Struct). `clusterObjects` gives the same cluster as plain data for a fake Kubernetes API server.
import type { Role, Workload } from "./istio-entries.ts"

export interface SimPod extends Workload {
  /** The Kubernetes Service (and Istio canonical name) the pod belongs to. */
  readonly service: string
  readonly version: string
  readonly role: Role
  readonly serviceAccount: string
  /** The node the pod runs on and that node's IP (the pod's `status.hostIP`). */
  readonly nodeName: string
  readonly hostIp: string
}

export interface SimService {
  readonly name: string
  readonly namespace: string
  readonly clusterIp: string
  readonly port: number
}

export interface Route {
  readonly from: string
  readonly to: string
  readonly port: number
  readonly protocol: "http" | "tcp"
  /** Endpoint paths; `{id}` is replaced by a number below `ids`. */
  readonly paths: ReadonlyArray<string>
  readonly ids: number
  /** Median and shape of the callee's own latency, ms (log-normal). */
  readonly latency: { readonly medianMs: number; readonly sigma: number }
  /** Share of calls answered 5xx and 4xx. */
  readonly serverErrors: number
  readonly clientErrors: number
  /** How likely one request through `from` makes this call. */
  readonly probability: number
}

export interface Topology {
  readonly pods: ReadonlyArray<SimPod>
  readonly services: ReadonlyArray<SimService>
  readonly routes: ReadonlyArray<Route>
  readonly gateway: SimPod
}

export interface TopologyOptions {
  /** Pods per deployment (default 2). */
  readonly instances?: number
  /** Services beyond bookinfo's, each called by productpage (default 0). */
  readonly extraServices?: number
  /** Distinct ids per `{id}` path, so the number of endpoints can be raised (default 10). */
  readonly ids?: number
  readonly namespace?: string
  /** Kubernetes nodes the pods are spread over (default 3). */
  readonly nodes?: number
}

interface Deployment {
  readonly service: string
  readonly version: string
  readonly namespace: string
}

/** The deployments whose proxies are not upgraded yet (see the top of this file). */
const LEGACY_PROXIES = new Set(["details-v1", "reviews-v2"])
const LEGACY_ISTIO_VERSION = "1.22.3"

const httpRoute = (from: string, to: string, paths: ReadonlyArray<string>, medianMs: number, extra: Partial<Route> = {}): Route => ({
  from,
  to,
  port: 9080,
  protocol: "http",
  paths,
  ids: 10,
  latency: { medianMs, sigma: 0.5 },
  serverErrors: 0.005,
  clientErrors: 0.01,
  probability: 1,
  ...extra
})

export const bookinfo = (options: TopologyOptions = {}): Topology => {
  const ns = options.namespace ?? "default"
  const instances = options.instances ?? 2
  const ids = options.ids ?? 10
  const extra = Array.from({ length: options.extraServices ?? 0 }, (_, i) => `extra-${i}`)
  const deployments: Array<Deployment> = [
    { service: "productpage", version: "v1", namespace: ns },
    { service: "details", version: "v1", namespace: ns },
    { service: "reviews", version: "v1", namespace: ns },
    { service: "reviews", version: "v2", namespace: ns },
    { service: "reviews", version: "v3", namespace: ns },
    { service: "ratings", version: "v1", namespace: ns },
    { service: "mysql", version: "v1", namespace: ns },
    ...extra.map((service) => ({ service, version: "v1", namespace: ns }))
  ]
  const nodes = Math.max(1, options.nodes ?? 3)
  const podsOnNode = Array.from({ length: nodes }, () => 0)
  let placed = 0
  // Pods go round-robin over the nodes; each node hands out pod IPs from its own /24 of the pod CIDR 10.44.0.0/16.
  const place = () => {
    const node = placed++ % nodes
    const n = podsOnNode[node]++
    const block = node + Math.floor(n / 250) * nodes
    return { nodeName: `node-${node + 1}`, hostIp: `10.128.0.${node + 2}`, ip: `10.44.${block}.${(n % 250) + 2}` }
  }
  const pod = (d: Deployment, index: number, role: Role = "sidecar"): SimPod => {
    const workloadName = `${d.service}-${d.version}`
    return {
      name: `${workloadName}-${(index + 1).toString(36).padStart(5, "0")}`,
      namespace: d.namespace,
      ...place(),
      workloadName,
      service: d.service,
      version: d.version,
      role,
      serviceAccount: role === "router" ? `${d.service}-service-account` : `bookinfo-${d.service}`,
      ...(LEGACY_PROXIES.has(workloadName) ? { istioVersion: LEGACY_ISTIO_VERSION } : {}),
      labels: {
        app: d.service,
        version: d.version,
        "service.istio.io/canonical-name": d.service,
        "service.istio.io/canonical-revision": d.version,
        // The injector's label; Istio ≥ 1.24 peers do not carry it (see istioPeerMetadata), the Kubernetes API does.
        "security.istio.io/tlsMode": "istio"
      }
    }
  }
  const gateway = pod({ service: "istio-ingressgateway", version: "latest", namespace: "istio-system" }, 0, "router")
  const pods = [gateway, ...deployments.flatMap((d) => Array.from({ length: instances }, (_, i) => pod(d, i)))]
  const routes: Array<Route> = [
    httpRoute("istio-ingressgateway", "productpage", ["/productpage", "/login", "/logout"], 15),
    httpRoute("productpage", "details", ["/details/{id}"], 4, { ids }),
    httpRoute("productpage", "reviews", ["/reviews/{id}"], 20, { ids }),
    // reviews v1 shows no stars: only v2 and v3 call ratings (see ./traffic.ts).
    httpRoute("reviews", "ratings", ["/ratings/{id}"], 6, { ids, serverErrors: 0.02 }),
    { ...httpRoute("ratings", "mysql", [], 2), port: 3306, protocol: "tcp", probability: 0.1, serverErrors: 0, clientErrors: 0 },
    ...extra.map((service) => httpRoute("productpage", service, ["/api/{id}"], 10, { ids, probability: 0.3 }))
  ]
  const ports = new Map(routes.map((r) => [r.to, r]))
  const services = [...new Map(pods.map((p) => [`${p.namespace}/${p.service}`, p])).values()].map(
    (p, i): SimService => ({
      name: p.service,
      namespace: p.namespace,
      // Service cluster IPs from the service CIDR 10.96.0.0/16.
      clusterIp: `10.96.${Math.floor(i / 200)}.${(i % 200) + 10}`,
      port: p.role === "router" ? 80 : (ports.get(p.service)?.port ?? 9080)
    })
  )
  return { pods, services, routes, gateway }
}

/**
 * The simulated cluster as plain data for a fake Kubernetes API server: nodes, pods (name, namespace, IP, node,
 * labels, owning Deployment and Service), Services (cluster IP, port, selector) and each Service's endpoints.
 */
export const clusterObjects = (topology: Topology) => ({
  nodes: [...new Map(topology.pods.map((p) => [p.nodeName, { name: p.nodeName, ip: p.hostIp }])).values()],
  pods: topology.pods.map((p) => ({
    name: p.name,
    namespace: p.namespace,
    ip: p.ip,
    nodeName: p.nodeName,
    hostIp: p.hostIp,
    labels: p.labels,
    serviceAccount: p.serviceAccount,
    deployment: p.workloadName,
    service: p.service
  })),
  services: topology.services.map((s) => {
    const members = topology.pods.filter((p) => p.namespace === s.namespace && p.service === s.name)
    return {
      name: s.name,
      namespace: s.namespace,
      clusterIp: s.clusterIp,
      port: s.port,
      selector: { app: s.name },
      endpoints: members.map((p) => ({ ip: p.ip, pod: p.name, nodeName: p.nodeName }))
    }
  })
})
