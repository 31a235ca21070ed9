// Kubernetes objects as the API server serves them (only the fields k8s-mesh reads, plus a few it must ignore),
// and a way to ask the k8s-mesh analyzer who held an IP at a moment.
import { Effect, Schedule } from "effect"
import type { AccessLog } from "../src/domain/access-log.ts"
import { emptySides, type WorkloadIdentity } from "../src/domain/identity.ts"
import { parseNode } from "../src/domain/node.ts"
import { layerFromVariables, type Variables } from "../src/config.ts"
import type { Analyzer } from "../src/identity/identity-resolver.ts"
import { type K8sMeshOptions, makeK8sMeshAnalyzer } from "../src/identity/k8s-mesh/k8s-mesh-analyzer.ts"
import { kubeClients } from "../src/identity/k8s-mesh/kube-client.ts"
import type { FakeKubeApi } from "./fake-kube-api.ts"

export interface PodSpec {
  readonly namespace?: string
  readonly ips?: ReadonlyArray<string>
  readonly labels?: Record<string, string>
  readonly uid?: string
  readonly startTime?: string
  readonly phase?: string
  readonly hostNetwork?: boolean
  readonly hostIP?: string
}

export const pod = (name: string, spec: PodSpec = {}) => {
  const ips = spec.ips ?? []
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: spec.namespace ?? "default",
      uid: spec.uid ?? `uid-${name}`,
      labels: spec.labels ?? { app: name.split("-")[0] },
      creationTimestamp: "2019-04-12T23:59:00Z",
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": '{"a big":"annotation k8s-mesh drops"}' }
    },
    spec: { hostNetwork: spec.hostNetwork ?? false, containers: [{ name: "app", image: "app:1" }] },
    status: {
      phase: spec.phase ?? "Running",
      hostIP: spec.hostIP ?? "192.168.0.10",
      startTime: spec.startTime ?? "2019-04-13T00:00:00Z",
      ...(ips.length > 0 && { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) })
    }
  }
}

export const service = (name: string, spec: { readonly namespace?: string; readonly selector?: Record<string, string> } = {}) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: spec.namespace ?? "default", labels: { team: "t" } },
  spec: { ...(spec.selector && { selector: spec.selector }), ports: [{ port: 80 }] }
})

/** The slice the EndpointSlice controller would keep for `service`, listing `pods` (name → IP). */
export const endpointSlice = (
  service: string,
  pods: Readonly<Record<string, string>>,
  spec: { readonly namespace?: string; readonly name?: string } = {}
) => {
  const namespace = spec.namespace ?? "default"
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: spec.name ?? `${service}-abcde`, namespace, labels: { "kubernetes.io/service-name": service } },
    addressType: "IPv4",
    endpoints: Object.entries(pods).map(([name, ip]) => ({
      addresses: [ip],
      conditions: { ready: true },
      targetRef: { kind: "Pod", name, namespace }
    }))
  }
}

/** A pod, a Service selecting it and its slice: the usual shape of a workload. */
export const putWorkload = (api: FakeKubeApi, name: string, ip: string, spec: PodSpec = {}) => {
  const svc = name.split("-")[0]
  api.put("pods", pod(name, { ...spec, ips: [ip] }))
  api.put("services", service(svc, { selector: { app: svc }, ...(spec.namespace && { namespace: spec.namespace }) }))
  api.put("endpointslices", endpointSlice(svc, { [name]: ip }, spec.namespace ? { namespace: spec.namespace } : {}))
}

/** Fast backoff for tests against the fake server (the real schedule is tested in virtual time). */
export const fastRetry = Schedule.spaced("20 millis")

/** The k8s-mesh analyzer against the fake server, with the given settings, in the current Scope. */
export const startK8sMesh = (api: FakeKubeApi, config: Variables = {}, options: K8sMeshOptions = {}) =>
  makeK8sMeshAnalyzer(kubeClients(api.kubeConfig()), { retrySchedule: fastRetry, ...options }).pipe(
    Effect.provide(layerFromVariables({ MESHSIGHT_K8S_SERVICE_NAME_RULE: "${service.metadata.name}", ...config }))
  )

const inboundNode = parseNode({ id: "sidecar~10.9.9.9~reporter-0.default~default.svc.cluster.local", cluster: "", metadata: {} })

/** Who k8s-mesh says called from `ip` in an entry that started at `atMs`. */
export const whoWas = (analyzer: Analyzer, ip: string, atMs = Date.now()): WorkloadIdentity | undefined => {
  const entry = {
    kind: "http",
    common: { downstreamRemoteAddress: { ip, port: 40000 }, upstreamCluster: "inbound|80||", startTimeMs: atMs, filterState: [] }
  } as unknown as AccessLog
  const sides = [emptySides()]
  analyzer.forStream(inboundNode).fill([entry], sides)
  return sides[0].downstream
}

/** Polls (real time) until `check` holds; fails with the last value seen. */
export const eventually = <A>(read: () => A, check: (a: A) => boolean, timeoutMs = 5_000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    let value = read()
    while (!check(value)) {
      if (Date.now() > deadline)
        return yield* Effect.die(new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(value)}`))
      yield* Effect.sleep("10 millis")
      value = read()
    }
    return value
  })
