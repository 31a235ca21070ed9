// The simulated mesh: a bookinfo-like application (ingress gateway → productpage → details, reviews v1/v2/v3 →
// ratings → mysql over TCP), optionally with more services, as pods with Istio's labels and IPs of one simulated
// cluster. `clusterObjects` gives the same cluster as plain data for a fake Kubernetes API server.
import type { Role, Workload } from "./istio-entries.ts"

export interface SimPod extends Workload {
  /** The Kubernetes Service (and Istio canonical name) the pod belongs to. */
  readonly service: string
  readonly version: string
  readonly role: Role
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
  readonly routes: ReadonlyArray<Route>
  /** The service outside callers reach through the gateway. */
  readonly entry: string
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
}

interface Deployment {
  readonly service: string
  readonly version: string
  readonly namespace: string
}

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
  let address = 0
  // Pod IPs from one /16, as a cluster's pod CIDR would hand them out.
  const nextIp = () => {
    address++
    return `10.44.${address >> 8}.${address & 255}`
  }
  const pod = (d: Deployment, index: number, role: Role = "sidecar"): SimPod => {
    const workloadName = `${d.service}-${d.version}`
    return {
      name: `${workloadName}-${(index + 1).toString(36).padStart(5, "0")}`,
      namespace: d.namespace,
      ip: nextIp(),
      workloadName,
      service: d.service,
      version: d.version,
      role,
      labels: {
        app: d.service,
        version: d.version,
        "service.istio.io/canonical-name": d.service,
        "service.istio.io/canonical-revision": d.version
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
  return { pods, routes, entry: "productpage", gateway }
}

/** The simulated cluster as a Kubernetes API would list it (pods with IPs and labels, services with selectors). */
export const clusterObjects = (topology: Topology) => ({
  pods: topology.pods.map((p) => ({ name: p.name, namespace: p.namespace, ip: p.ip, labels: p.labels, service: p.service })),
  services: [...new Map(topology.pods.map((p) => [`${p.namespace}/${p.service}`, {
    name: p.service,
    namespace: p.namespace,
    selector: { app: p.labels.app ?? p.service }
  }])).values()]
})
