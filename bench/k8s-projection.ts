// What k8s-mesh's cluster view costs per pod: the real client lists and watches a fake API server (in its own
// process, so its objects are not counted) holding N realistic pods, 10 per Service, each Service with its
// EndpointSlice; the analyzer syncs, then resolves every pod IP once so each pod's identity is built. Heap and
// RSS are read after forced GCs, before and after, in a fresh process per N.
//   node bench/k8s-projection.ts            → prints a table, writes bench/k8s-results.json
import { execFileSync, fork } from "node:child_process"
import { writeFileSync } from "node:fs"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Effect, Exit, Scope } from "effect"
import { layerFromVariables } from "../src/config.ts"
import type { AccessLog } from "../src/domain/access-log.ts"
import { emptySides } from "../src/domain/identity.ts"
import { parseNode } from "../src/domain/node.ts"
import { makeK8sMeshAnalyzer } from "../src/identity/k8s-mesh/k8s-mesh-analyzer.ts"
import { kubeClients } from "../src/identity/k8s-mesh/kube-client.ts"
import { serviceNodeFlags } from "../scripts/start-command.ts"
import { FakeKubeApi, kubeConfigFor } from "../testkit/fake-kube-api.ts"
import { endpointSlice } from "../testkit/cluster-objects.ts"

const SIZES = [1_000, 10_000, 50_000]
const PODS_PER_SERVICE = 10

const ipOf = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`

/** A pod as a real cluster serves it, sidecar-injected: most of it is what k8s-mesh throws away. */
const realisticPod = (i: number) => {
  const app = `svc-${Math.floor(i / PODS_PER_SERVICE)}`
  const namespace = `ns-${Math.floor(i / 1000)}`
  const name = `${app}-7d9f8b6c5d-${i.toString(36).padStart(5, "x")}`
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      uid: `0b6f3c2e-${i.toString(16).padStart(4, "0")}-4a1b-9c8d-${(i * 7919).toString(16).padStart(12, "0")}`,
      creationTimestamp: "2026-01-01T00:00:00Z",
      labels: {
        app,
        version: "v1",
        "pod-template-hash": "7d9f8b6c5d",
        "security.istio.io/tlsMode": "istio",
        "service.istio.io/canonical-name": app,
        "service.istio.io/canonical-revision": "v1"
      },
      annotations: {
        "istio.io/rev": "default",
        "kubectl.kubernetes.io/default-container": app,
        "sidecar.istio.io/status":
          '{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["workload-socket","credential-socket","workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert"],"imagePullSecrets":null,"revision":"default"}'
      },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: `${app}-7d9f8b6c5d`,
          uid: "5e0c1b7a-1111-2222-3333-444455556666",
          controller: true,
          blockOwnerDeletion: true
        }
      ]
    },
    spec: {
      containers: [
        {
          name: app,
          image: `registry.example.com/${app}:1.0.0`,
          ports: [{ containerPort: 9080, protocol: "TCP" }],
          resources: { requests: { cpu: "100m", memory: "128Mi" } }
        },
        {
          name: "istio-proxy",
          image: "docker.io/istio/proxyv2:1.26.0",
          args: ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--proxyLogLevel=warning"]
        }
      ],
      nodeName: `node-${i % 50}`,
      serviceAccountName: app
    },
    status: {
      phase: "Running",
      hostIP: `192.168.0.${i % 50}`,
      podIP: ipOf(i),
      podIPs: [{ ip: ipOf(i) }],
      startTime: "2026-01-01T00:00:01Z",
      qosClass: "Burstable",
      conditions: [
        { type: "Initialized", status: "True", lastTransitionTime: "2026-01-01T00:00:02Z" },
        { type: "Ready", status: "True", lastTransitionTime: "2026-01-01T00:00:05Z" },
        { type: "ContainersReady", status: "True", lastTransitionTime: "2026-01-01T00:00:05Z" },
        { type: "PodScheduled", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" }
      ],
      containerStatuses: [
        {
          name: app,
          ready: true,
          restartCount: 0,
          image: `registry.example.com/${app}:1.0.0`,
          imageID: `registry.example.com/${app}@sha256:${"ab".repeat(32)}`,
          containerID: `containerd://${"cd".repeat(32)}`,
          started: true,
          state: { running: { startedAt: "2026-01-01T00:00:03Z" } }
        }
      ]
    }
  }
}

const serveCluster = async (pods: number) => {
  const api = await new FakeKubeApi().start()
  for (let s = 0; s < pods / PODS_PER_SERVICE; s++) {
    const members = Array.from({ length: PODS_PER_SERVICE }, (_, k) => realisticPod(s * PODS_PER_SERVICE + k))
    const { namespace } = members[0].metadata
    const app = members[0].metadata.labels.app
    for (const p of members) api.put("pods", p)
    api.put("services", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: app, namespace, labels: { app } },
      spec: { selector: { app }, ports: [{ port: 9080 }] }
    })
    api.put(
      "endpointslices",
      endpointSlice(app, Object.fromEntries(members.map((p) => [p.metadata.name, p.status.podIP])), { namespace, name: `${app}-x1y2z` })
    )
  }
  process.send!({ port: api.port })
}

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void
const settledMemory = () => {
  for (let i = 0; i < 4; i++) gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss }
}

const measure = async (port: number, pods: number) => {
  const clients = kubeClients(kubeConfigFor(port))
  const scope = Effect.runSync(Scope.make())
  const before = settledMemory()
  const started = performance.now()
  const analyzer = await Effect.runPromise(
    makeK8sMeshAnalyzer(clients).pipe(Effect.provide(layerFromVariables({ MESHSIGHT_LOG_LEVEL: "Error" })), Scope.provide(scope))
  )
  while (!analyzer.isReady()) await new Promise((r) => setTimeout(r, 20))
  const syncMs = performance.now() - started
  const synced = settledMemory()
  // Resolve every IP once, as traffic would: each pod's identity is built and cached.
  const node = parseNode({ id: "sidecar~10.255.0.1~x-0.ns~ns.svc.cluster.local", cluster: "", metadata: {} })
  const resolver = analyzer.forStream(node)
  const entries = Array.from(
    { length: pods },
    (_, i) =>
      ({
        kind: "http",
        common: {
          downstreamRemoteAddress: { ip: ipOf(i), port: 1 },
          upstreamCluster: "inbound|80||",
          startTimeMs: Date.now(),
          filterState: []
        }
      }) as unknown as AccessLog
  )
  const sides = entries.map(() => emptySides())
  const lookupStart = performance.now()
  resolver.fill(entries, sides)
  const lookupNs = ((performance.now() - lookupStart) * 1e6) / pods
  const resolved = sides.filter((s) => s.downstream !== undefined).length
  entries.length = 0
  sides.length = 0
  const after = settledMemory()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  process.send!({
    pods,
    resolved,
    syncMs: Math.round(syncMs),
    lookupNsPerIp: Math.round(lookupNs),
    heapBytesPerPodSynced: Math.round((synced.heap - before.heap) / pods),
    heapBytesPerPod: Math.round((after.heap - before.heap) / pods),
    /** What V8 holds for the heap (used + free space in its pages): what RSS follows. */
    heapTotalBytesPerPod: Math.round((after.heapTotal - before.heapTotal) / pods),
    rssBytesPerPod: Math.round((after.rss - before.rss) / pods)
  })
}

const child = <A>(args: ReadonlyArray<string>, nodeFlags: ReadonlyArray<string> = []) => {
  const proc = fork(import.meta.filename, [...args], {
    execArgv: [...process.execArgv, ...nodeFlags],
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  })
  const message = new Promise<A>((resolve, reject) => {
    proc.once("message", (m) => resolve(m as A))
    proc.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}`)))
  })
  return { proc, message }
}

const main = async () => {
  const results = []
  for (const pods of SIZES) {
    const server = child<{ port: number }>(["serve", String(pods)])
    const { port } = await server.message
    // With the node flags meshsight runs with (its young generation size changes how much garbage stays resident).
    const measured = child<Record<string, number>>(["measure", String(port), String(pods)], serviceNodeFlags)
    results.push(await measured.message)
    measured.proc.kill()
    server.proc.kill()
  }
  console.table(results)
  // Fixed costs (code, client, runtime) are in every row; the slope between the two largest sizes is the
  // cost of one more pod.
  const [mid, large] = results.slice(-2)
  const marginal = (key: string) => Math.round((large[key] * large.pods - mid[key] * mid.pods) / (large.pods - mid.pods))
  const marginalPerPod = {
    from: mid.pods,
    to: large.pods,
    heapBytesSynced: marginal("heapBytesPerPodSynced"),
    heapBytes: marginal("heapBytesPerPod"),
    heapTotalBytes: marginal("heapTotalBytesPerPod"),
    rssBytes: marginal("rssBytesPerPod")
  }
  console.log("marginal cost of one more pod:", marginalPerPod)
  const node = process.version
  const cpu = execFileSync("sh", ["-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).toString().trim()
  writeFileSync(
    new URL("k8s-results.json", import.meta.url),
    `${JSON.stringify({ node, nodeFlags: serviceNodeFlags, cpu, podsPerService: PODS_PER_SERVICE, results, marginalPerPod }, null, 2)}\n`
  )
  console.log("written to bench/k8s-results.json")
}

const [role, a, b] = process.argv.slice(2)
if (role === "serve") await serveCluster(Number(a))
else if (role === "measure") await measure(Number(a), Number(b))
else await main()
