// Starting meshsight with k8s-mesh: credentials found the standard way, a one-line start-up error when there are
// none, the log lines that show it works, and RBAC that grants exactly what the analyzer watches.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { loadAllYaml } from "@kubernetes/client-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { loadKubeConfig, WATCHED_PATHS } from "../../../src/identity/k8s-mesh/kube-client.ts"
import { FakeKubeApi } from "../../../testkit/fake-kube-api.ts"
import { spawnMeshsight } from "../../../testkit/meshsight-process.ts"
import { putWorkload } from "../../../testkit/cluster-objects.ts"

const fakeApi = Effect.acquireRelease(
  Effect.promise(() => new FakeKubeApi().start()),
  (api) => Effect.promise(() => api.stop())
)
const scratch = () => mkdtempSync(join(tmpdir(), "k8s-mesh-"))
const withEnv = (env: Record<string, string>) => Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))
/** Nothing to find: no service account, no KUBECONFIG, a home without ~/.kube/config. */
const NO_CREDENTIALS = { KUBERNETES_SERVICE_HOST: "", KUBECONFIG: "", HOME: "/nonexistent" }

describe("k8s-mesh credentials", () => {
  it.effect("reads the kubeconfig KUBECONFIG names", () =>
    Effect.gen(function* () {
      const file = join(scratch(), "config")
      writeFileSync(
        file,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://10.1.2.3:6443'}}]\n" +
          "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
      )
      const kc = yield* loadKubeConfig.pipe(withEnv({ ...NO_CREDENTIALS, KUBECONFIG: file }))
      expect(kc.getCurrentCluster()?.server).toBe("https://10.1.2.3:6443")
    })
  )

  it.effect("says what it looked for when there are no credentials", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(loadKubeConfig.pipe(withEnv(NO_CREDENTIALS)))
      expect(error.message).toBe(
        "k8s-mesh cannot reach the Kubernetes API: no service account " +
          "(/var/run/secrets/kubernetes.io/serviceaccount/token), no KUBECONFIG and no /nonexistent/.kube/config"
      )
      const missing = yield* Effect.flip(loadKubeConfig.pipe(withEnv({ ...NO_CREDENTIALS, KUBECONFIG: "/nonexistent/config" })))
      expect(missing.message).toContain("KUBECONFIG names missing file(s) /nonexistent/config")
    })
  )

  it.live("stops meshsight's start-up with one line when k8s-mesh has no credentials", () =>
    Effect.gen(function* () {
      const failure = yield* Effect.flip(
        Effect.tryPromise(() => spawnMeshsight({ ...NO_CREDENTIALS, MESHSIGHT_HTTP_ANALYZERS: "k8s-mesh" }))
      )
      const output = String((failure.cause as Error).message)
        .split("\n")
        .slice(1)
        .filter((l) => l !== "")
      expect(output).toStrictEqual([
        "meshsight: k8s-mesh cannot reach the Kubernetes API: no service account " +
          "(/var/run/secrets/kubernetes.io/serviceaccount/token), no KUBECONFIG and no /nonexistent/.kube/config"
      ])
    })
  )

  it.live("runs as a process against the API server KUBECONFIG names, logging that it is active and synced", () =>
    Effect.gen(function* () {
      const api = yield* fakeApi
      putWorkload(api, "reviews-1", "10.0.0.1")
      const file = join(scratch(), "config")
      writeFileSync(file, api.kubeConfigYaml())
      const meshsight = yield* Effect.acquireRelease(
        Effect.promise(() =>
          spawnMeshsight({ ...NO_CREDENTIALS, KUBECONFIG: file, SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS: "mx-mesh,k8s-mesh" })
        ),
        (m) => Effect.promise(() => m.stop())
      )
      // Ready means synced; the log line may still be in the pipe.
      const synced = "k8s-mesh synced: 1 pods (1 IPs), 1 services, 1 endpoint slices"
      for (let i = 0; i < 100 && !meshsight.output().includes(synced); i++) yield* Effect.sleep("20 millis")
      expect(meshsight.output()).toContain("identity analyzers active: HTTP [mx-mesh, k8s-mesh], TCP [mx-mesh]")
      expect(meshsight.output()).toContain(synced)
    })
  )
})

describe("deploy/kubernetes", () => {
  const manifests = (file: string) =>
    loadAllYaml(readFileSync(new URL(`../../../deploy/kubernetes/${file}`, import.meta.url), "utf8")) as Array<any>

  it("grants list and watch on exactly what k8s-mesh watches", () => {
    const role = manifests("rbac.yaml").find((m) => m.kind === "ClusterRole")
    const granted = role.rules.flatMap((r: any) =>
      r.resources.map((res: string) => `${r.apiGroups[0] === "" ? "/api/v1" : `/apis/${r.apiGroups[0]}/v1`}/${res} ${r.verbs.join(",")}`)
    )
    expect(granted.sort()).toStrictEqual(
      Object.values(WATCHED_PATHS)
        .map((p) => `${p} list,watch`)
        .sort()
    )
  })

  it("runs meshsight's release image as that ServiceAccount, probing /readyz and /healthz, serving 11800 and 12800", () => {
    const [deployment, service] = manifests("meshsight.yaml")
    const pod = deployment.spec.template.spec
    const container = pod.containers[0]
    expect([
      pod.serviceAccountName,
      container.image,
      container.readinessProbe.httpGet.path,
      container.livenessProbe.httpGet.path
    ]).toStrictEqual([
      "meshsight",
      `meshsight:${JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")).version}`,
      "/readyz",
      "/healthz"
    ])
    expect(service.spec.ports.map((p: any) => p.port)).toStrictEqual([11800, 12800])
    const binding = manifests("rbac.yaml").find((m) => m.kind === "ClusterRoleBinding")
    // The client loads them as its RbacV1Subject class: compared by fields, not class.
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "meshsight", namespace: deployment.metadata.namespace }])
  })
})
