// The Kubernetes API as k8s-mesh uses it: credentials found the standard way, and list/watch of Pods, Services,
// EndpointSlices and Istio ServiceEntries through @kubernetes/client-node.
import { existsSync } from "node:fs"
import { homedir } from "node:os"
import { delimiter, join } from "node:path"
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, KubeConfig, Watch } from "@kubernetes/client-node"
import { Config, Effect, Option } from "effect"
import { K8sCredentialsError } from "./k8s-mesh.ts"
import type { ListPage, ResourceClient, ResourceName } from "./resource-sync.ts"

/** Where a pod's service account token is mounted (Kubernetes' in-cluster configuration). */
export const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"

/** An environment variable; empty counts as unset. */
const optionalEnv = (name: string) =>
  Config.option(Config.String(name)).pipe(
    Effect.orElseSucceed(() => Option.none<string>()),
    Effect.map((value) => Option.getOrUndefined(Option.filter(value, (v) => v !== "")))
  )

/**
 * In a pod: its service account (KUBERNETES_SERVICE_HOST and the mounted token). Elsewhere: the files in
 * KUBECONFIG, else ~/.kube/config. Unlike client-node's loadFromDefault, never falls back to localhost:8080.
 */
export const loadKubeConfig: Effect.Effect<KubeConfig, K8sCredentialsError> = Effect.gen(function* () {
  const serviceHost = yield* optionalEnv("KUBERNETES_SERVICE_HOST")
  const kubeconfig = yield* optionalEnv("KUBECONFIG")
  const home = join((yield* optionalEnv("HOME")) ?? homedir(), ".kube", "config")
  const kc = new KubeConfig()
  const load = (what: string, loadInto: () => void) =>
    Effect.try({
      try: () => {
        loadInto()
        if (kc.getCurrentCluster() === null) throw new Error("it names no current cluster")
        return kc
      },
      catch: (e) => new K8sCredentialsError({ reason: `${what}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}` })
    })
  if (serviceHost !== undefined && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    return yield* load("in-cluster service account", () => kc.loadFromCluster())
  }
  const files = kubeconfig?.split(delimiter).filter((f) => f !== "") ?? []
  if (files.length > 0) {
    const missing = files.filter((f) => !existsSync(f))
    if (missing.length > 0) return yield* new K8sCredentialsError({ reason: `KUBECONFIG names missing file(s) ${missing.join(", ")}` })
    return yield* load(`KUBECONFIG ${kubeconfig}`, () => {
      kc.loadFromFile(files[0])
      for (const file of files.slice(1)) {
        const more = new KubeConfig()
        more.loadFromFile(file)
        kc.mergeConfig(more)
      }
    })
  }
  if (existsSync(home)) return yield* load(home, () => kc.loadFromFile(home))
  return yield* new K8sCredentialsError({
    reason: `no service account (${SERVICE_ACCOUNT_TOKEN}), no KUBECONFIG and no ${home}`
  })
})

/** client-go's reflector lists in pages of 500 too: a 50k-pod list never sits in memory whole. */
const PAGE_SIZE = 500

interface AnyList {
  readonly items: ReadonlyArray<unknown>
  readonly metadata?: { readonly resourceVersion?: string | undefined; readonly _continue?: string | undefined }
}

const page = (list: AnyList): ListPage => ({
  items: list.items,
  resourceVersion: list.metadata?.resourceVersion ?? "",
  continueToken: list.metadata?._continue
})

export const WATCHED_PATHS: Readonly<Record<ResourceName, string>> = {
  pods: "/api/v1/pods",
  services: "/api/v1/services",
  endpointslices: "/apis/discovery.k8s.io/v1/endpointslices",
  serviceentries: "/apis/networking.istio.io/v1/serviceentries"
}

/** List and watch across all namespaces: what the ClusterRole in deploy/kubernetes grants, and no more. */
export const kubeClients = (kc: KubeConfig): Record<ResourceName, ResourceClient> => {
  const core = kc.makeApiClient(CoreV1Api)
  const discovery = kc.makeApiClient(DiscoveryV1Api)
  const custom = kc.makeApiClient(CustomObjectsApi)
  const watcher = new Watch(kc)
  const client = (resource: ResourceName, list: (continueToken: string | undefined) => Promise<AnyList>): ResourceClient => ({
    listPage: (continueToken) => list(continueToken).then(page),
    watch: (resourceVersion, onEvent, onDone) =>
      watcher.watch(WATCHED_PATHS[resource], { resourceVersion, allowWatchBookmarks: true }, onEvent, onDone)
  })
  return {
    pods: client("pods", (c) => core.listPodForAllNamespaces({ limit: PAGE_SIZE, ...(c && { _continue: c }) })),
    services: client("services", (c) => core.listServiceForAllNamespaces({ limit: PAGE_SIZE, ...(c && { _continue: c }) })),
    endpointslices: client("endpointslices", (c) =>
      discovery.listEndpointSliceForAllNamespaces({ limit: PAGE_SIZE, ...(c && { _continue: c }) })
    ),
    // A CRD: the client has no typed model, the list comes back as plain JSON (with `metadata.continue`).
    serviceentries: client("serviceentries", (c) =>
      custom
        .listClusterCustomObject({
          group: "networking.istio.io",
          version: "v1",
          plural: "serviceentries",
          limit: PAGE_SIZE,
          ...(c && { _continue: c })
        })
        .then((list: { items?: Array<unknown>; metadata?: { resourceVersion?: string; continue?: string } }) => ({
          items: list.items ?? [],
          metadata: { resourceVersion: list.metadata?.resourceVersion, _continue: list.metadata?.continue }
        }))
    )
  }
}
