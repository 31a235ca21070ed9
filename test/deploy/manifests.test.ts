// The deployment files: the base Deployment's hardening, the secure overlay (TLS, tokens, NetworkPolicy) and the
// scale-out overlay (replicas, disruption budget, autoscaler, shared TSDB) wired to real settings and to each other,
// and the Istio side pointing at the same service, port and token header.
import { loadAllYaml } from "@kubernetes/client-node"
import { describe, expect, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { ConfigProvider, Effect } from "effect"
import { loadConfig, VARIABLE_NAMES } from "../../src/config.ts"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const read = (path: string) => readFileSync(join(ROOT, path), "utf8")
const yaml = (path: string) => loadAllYaml(read(path)) as Array<any>
const version = JSON.parse(read("package.json")).version as string
const hasKubectl = spawnSync("kubectl", ["version", "--client"], { stdio: "ignore" }).status === 0

describe("deploy/kubernetes (base)", () => {
  const [deployment, service] = yaml("deploy/kubernetes/meshsight.yaml")
  const pod = deployment.spec.template.spec
  const container = pod.containers[0]

  it("runs the release's image tag, not :latest", () => {
    expect(container.image).toBe(`meshsight:${version}`)
  })

  it("runs as non-root with RuntimeDefault seccomp, a read-only root filesystem and no capabilities", () => {
    expect(pod.securityContext).toEqual(expect.objectContaining({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }))
    expect(container.securityContext).toEqual(
      expect.objectContaining({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" }
      })
    )
    expect(service.spec.ports.map((p: any) => p.port)).toStrictEqual([11800, 12800])
  })
})

describe("deploy/secure (TLS, tokens, NetworkPolicy)", () => {
  const kustomization = yaml("deploy/secure/kustomization.yaml")[0]
  const [patch] = yaml("deploy/secure/meshsight-secure.yaml")
  const [certificate] = yaml("deploy/secure/certificate.yaml")
  const [policy] = yaml("deploy/secure/network-policy.yaml")
  const [, service] = yaml("deploy/kubernetes/meshsight.yaml")
  const container = patch.spec.template.spec.containers[0]
  const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]))

  it("lists files that exist", () => {
    for (const r of [...kustomization.resources, ...kustomization.patches.map((p: any) => p.path)]) {
      expect(existsSync(join(ROOT, "deploy/secure", r)), r).toBe(true)
    }
  })

  it("sets only real settings, to files inside the mounted Secrets, and probes over HTTPS", () => {
    for (const name of Object.keys(env)) expect(VARIABLE_NAMES.has(name), `${name} is no setting meshsight reads`).toBe(true)
    const mounts = container.volumeMounts.map((m: any) => m.mountPath)
    for (const [name, path] of Object.entries(env)) {
      if (name.endsWith("_FILE"))
        expect(
          mounts.some((m: string) => String(path).startsWith(`${m}/`)),
          name
        ).toBe(true)
    }
    expect(container.readinessProbe.httpGet.scheme).toBe("HTTPS")
    expect(container.livenessProbe.httpGet.scheme).toBe("HTTPS")
    const secrets = patch.spec.template.spec.volumes.map((v: any) => v.secret.secretName)
    expect([...secrets].sort()).toEqual([certificate.spec.secretName, "meshsight-tokens"].sort())
    for (const host of env.MESHSIGHT_HTTP_ALLOWED_HOSTS.split(",").filter((h: string) => h !== "localhost")) {
      expect(certificate.spec.dnsNames).toContain(host)
    }
  })

  it("the NetworkPolicy admits exactly the Service's ports", () => {
    expect(policy.spec.podSelector.matchLabels).toStrictEqual(service.spec.selector)
    const ports = policy.spec.ingress.flatMap((r: any) => r.ports.map((p: any) => p.port))
    expect([...ports].sort()).toEqual(service.spec.ports.map((p: any) => p.port).sort())
    expect([...policy.spec.policyTypes].sort()).toEqual(["Egress", "Ingress"])
  })

  it.skipIf(!hasKubectl)("renders with kustomize (kubectl kustomize) into a Deployment with TLS, tokens and the hardening kept", () => {
    const rendered = loadAllYaml(execFileSync("kubectl", ["kustomize", join(ROOT, "deploy/secure")], { encoding: "utf8" })) as Array<any>
    const kinds = rendered.map((r) => r.kind).sort()
    expect(kinds).toEqual(
      expect.arrayContaining([
        "Certificate",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Namespace",
        "NetworkPolicy",
        "Service",
        "ServiceAccount"
      ])
    )
    const deployment = rendered.find((r) => r.kind === "Deployment")
    const c = deployment.spec.template.spec.containers[0]
    const names = c.env.map((e: any) => e.name)
    expect(names).toEqual(
      expect.arrayContaining([
        "MESHSIGHT_GRPC_TLS_CERT_FILE",
        "MESHSIGHT_API_TOKEN_FILE",
        "MESHSIGHT_ALS_TOKEN_FILE",
        "SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS"
      ])
    )
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true)
    expect(c.image).toBe(`meshsight:${version}`)
  })
})

describe("deploy/scale-out (replicas sharing a TSDB)", () => {
  const kustomization = yaml("deploy/scale-out/kustomization.yaml")[0]
  const [patch] = yaml("deploy/scale-out/meshsight-scale-out.yaml")
  const [budget] = yaml("deploy/scale-out/pod-disruption-budget.yaml")
  const [autoscaler] = yaml("deploy/scale-out/autoscaler.yaml")
  const [deployment] = yaml("deploy/kubernetes/meshsight.yaml")
  const podLabels = deployment.spec.template.metadata.labels
  const container = patch.spec.template.spec.containers[0]
  const values = Object.fromEntries(container.env.filter((e: any) => "value" in e).map((e: any) => [e.name, e.value]))

  it("lists files that exist and patches the base's Deployment", () => {
    for (const r of [...kustomization.resources, ...kustomization.patches.map((p: any) => p.path)]) {
      expect(existsSync(join(ROOT, "deploy/scale-out", r)), r).toBe(true)
    }
    expect(kustomization.resources).toContain("../kubernetes")
    expect(patch.metadata).toEqual(expect.objectContaining({ name: deployment.metadata.name, namespace: deployment.metadata.namespace }))
  })

  it("sets real, valid settings: the TSDB for queries and remote write, the replica from the pod's name, a max connection age", () => {
    for (const e of container.env) {
      expect(VARIABLE_NAMES.has(e.name), `${e.name} is no setting meshsight reads`).toBe(true)
    }
    const known = Object.fromEntries(Object.entries(values).filter(([name]) => VARIABLE_NAMES.has(name)))
    const config = Effect.runSync(loadConfig.pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(known)))))
    expect(values.MESHSIGHT_STORAGE).toBe("prometheus")
    // Remote write goes to the TSDB the queries read.
    expect(config.remoteWriteUrls.map((u) => new URL(u).host)).toStrictEqual([new URL(values.MESHSIGHT_PROMETHEUS_URL).host])
    // Replicas must not overwrite each other's series: each is named by its pod.
    expect(container.env.find((e: any) => e.name === "MESHSIGHT_REPLICA").valueFrom).toEqual({
      fieldRef: { fieldPath: "metadata.name" }
    })
    expect(config.grpcMaxConnectionAgeMs).toBeGreaterThan(0)
    expect(config.grpcMaxConnectionAgeMs).toBeLessThanOrEqual(3_600_000)
  })

  it("spreads the replicas over nodes; the budget and the autoscaler select them and keep at least two", () => {
    const [term] = patch.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution
    expect(term.podAffinityTerm.topologyKey).toBe("kubernetes.io/hostname")
    expect(term.podAffinityTerm.labelSelector.matchLabels).toStrictEqual(podLabels)
    expect(budget.spec.selector.matchLabels).toStrictEqual(deployment.spec.selector.matchLabels)
    expect(budget.spec.maxUnavailable).toBe(1)
    expect(autoscaler.apiVersion).toBe("autoscaling/v2")
    expect(autoscaler.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name })
    expect(autoscaler.spec.minReplicas).toBe(patch.spec.replicas)
    expect(patch.spec.replicas - budget.spec.maxUnavailable).toBeGreaterThanOrEqual(2)
    expect(autoscaler.spec.maxReplicas).toBeGreaterThan(autoscaler.spec.minReplicas)
    expect(autoscaler.spec.metrics[0].resource.name).toStrictEqual("cpu")
    // CPU utilization is measured against the request.
    expect(deployment.spec.template.spec.containers[0].resources.requests.cpu).toBeDefined()
    for (const r of [budget, autoscaler]) expect(r.metadata.namespace).toBe(deployment.metadata.namespace)
  })

  it.skipIf(!hasKubectl)("renders with kustomize (kubectl kustomize): three replicas with the base's settings and hardening kept", () => {
    const rendered = loadAllYaml(execFileSync("kubectl", ["kustomize", join(ROOT, "deploy/scale-out")], { encoding: "utf8" })) as Array<any>
    expect(rendered.map((r) => r.kind)).toEqual(
      expect.arrayContaining(["Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"])
    )
    const deployment = rendered.find((r) => r.kind === "Deployment")
    expect(deployment.spec.replicas).toBe(3)
    const c = deployment.spec.template.spec.containers[0]
    expect(c.env.map((e: any) => e.name)).toEqual(
      expect.arrayContaining([
        "SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS",
        "MESHSIGHT_STORAGE",
        "MESHSIGHT_REPLICA",
        "MESHSIGHT_GRPC_MAX_CONNECTION_AGE_MS"
      ])
    )
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true)
    expect(deployment.spec.template.spec.affinity.podAntiAffinity).toBeDefined()
  })
})

describe("deploy/istio", () => {
  const [certificate] = yaml("deploy/secure/certificate.yaml")

  it("the EnvoyFilter sends the ALS token as authorization metadata over TLS to meshsight's gRPC port", () => {
    const [filter] = yaml("deploy/istio/envoyfilter-als-token.yaml")
    const loggers = filter.spec.configPatches.map((p: any) => p.patch.value.typed_config.access_log[0].typed_config.common_config)
    expect(loggers).toHaveLength(2)
    for (const common of loggers) {
      const grpc = common.grpc_service
      expect(grpc.initial_metadata[0].key).toStrictEqual("authorization")
      expect(grpc.initial_metadata[0].value).toMatch(/^Bearer \S+$/)
      const [host, port] = grpc.google_grpc.target_uri.split(":")
      expect(certificate.spec.dnsNames).toContain(host)
      expect(Number(port)).toBe(11800)
      expect(grpc.google_grpc.channel_credentials.ssl_credentials.root_certs.filename).toBeDefined()
    }
  })

  it("the mesh config sends ALS over TLS to the certificate's name", () => {
    const [operator] = yaml("deploy/istio/meshconfig-als-tls.yaml")
    const remote = operator.spec.meshConfig.defaultConfig.envoyAccessLogService
    expect(remote.tlsSettings.mode).toBe("SIMPLE")
    expect(certificate.spec.dnsNames).toContain(remote.tlsSettings.sni)
    expect(remote.address).toBe(`${remote.tlsSettings.sni}:11800`)
  })
})
