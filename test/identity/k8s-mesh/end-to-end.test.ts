// k8s-mesh in the running app: the captured Envoy messages replayed over real gRPC against a fake API server
// holding the fixtures' cluster give the identities of test/testdata/README.md, with k8s-mesh alone and
// behind mx-mesh; /readyz answers 503 until the first full sync; the chain fills each side, HTTP and TCP, from
// the first analyzer that knows it, in every configured order.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { layerFromVariables } from "../../../src/config.ts"
import { emptySides } from "../../../src/domain/identity.ts"
import { parseNode } from "../../../src/domain/node.ts"
import { chainLayer } from "../../../src/identity/chain.ts"
import { IdentityResolver } from "../../../src/identity/identity-resolver.ts"
import { K8sMesh } from "../../../src/identity/k8s-mesh/k8s-mesh.ts"
import { makeK8sMeshAnalyzer } from "../../../src/identity/k8s-mesh/k8s-mesh-analyzer.ts"
import { kubeClients } from "../../../src/identity/k8s-mesh/kube-client.ts"
import * as MxMeshAnalyzer from "../../../src/identity/mx-mesh/mx-mesh-analyzer.ts"
import { decodeAlsMessage } from "../../../src/protocol/als-codec.ts"
import { encodeAlsMessageJson } from "../../../sim/envoy-protos.ts"
import { alsMessageJson, outboundHttpEntry, outboundTcpEntry, type Workload } from "../../../sim/istio-entries.ts"
import { sendAlsMessages } from "../../support/als-client.ts"
import { FakeKubeApi } from "../../../testkit/fake-kube-api.ts"
import { ALS_FIXTURES, fixtureBytes } from "../../support/fixtures.ts"
import { getJson } from "../../support/http-json.ts"
import { FIXTURE_CLUSTER } from "../../support/ip-table-analyzer.ts"
import { startMeshsight } from "../../support/meshsight.ts"
import { FIXTURE_NOW, FIXTURE_RANGE } from "../../support/replayed-fixtures.ts"
import { putWorkload } from "../../../testkit/cluster-objects.ts"

const fakeApi = Effect.acquireRelease(
  Effect.promise(() => new FakeKubeApi().start()),
  (api) => Effect.promise(() => api.stop())
)

/** SkyWalking's test registry names the fixtures' pods by their Service: `${service.metadata.name}`. */
const SERVICE_NAME_RULE = "${service.metadata.name}"

/** The fixtures' cluster as the API server would hold it: each workload a pod, a Service and its slice. */
const fixtureClusterApi = Effect.gen(function* () {
  const api = yield* fakeApi
  for (const [ip, w] of Object.entries(FIXTURE_CLUSTER))
    putWorkload(api, `${w.service}-0`, ip, { namespace: w.namespace, labels: { app: w.service } })
  return api
})

/** Both analyzers, k8s-mesh watching the fake API server. */
const analyzerLayers = (api: FakeKubeApi) =>
  Layer.merge(MxMeshAnalyzer.layer, Layer.effect(K8sMesh, makeK8sMeshAnalyzer(kubeClients(api.kubeConfig()))))

/** Real time, while the test's clock is virtual: the watches talk to a real server. */
const realSleep = (ms: number) => Effect.promise(() => new Promise((r) => setTimeout(r, ms)))

const readyz = (url: string) => Effect.promise(() => fetch(`${url}/readyz`).then((r) => r.status))

const waitReady = (url: string) =>
  Effect.gen(function* () {
    for (let i = 0; i < 500 && (yield* readyz(url)) !== 200; i++) yield* realSleep(10)
  })

const edges = (url: string) =>
  Effect.promise(() => getJson(url, `/api/topology?${FIXTURE_RANGE}`)).pipe(
    Effect.map((r) => r.body.edges.map((e: any) => [e.source, e.target, e.client?.calls ?? 0, e.server?.calls ?? 0]))
  )

describe("k8s-mesh end to end", () => {
  for (const analyzers of [["k8s-mesh"], ["mx-mesh", "k8s-mesh"]]) {
    it.effect(`names the captured messages' workloads with ${analyzers.join(",")}`, () =>
      Effect.gen(function* () {
        const api = yield* fixtureClusterApi
        yield* TestClock.setTime(FIXTURE_NOW)
        const app = yield* startMeshsight({
          analyzers: analyzerLayers(api),
          config: {
            MESHSIGHT_HTTP_ANALYZERS: analyzers.join(","),
            MESHSIGHT_TCP_ANALYZERS: analyzers.join(","),
            MESHSIGHT_K8S_SERVICE_NAME_RULE: SERVICE_NAME_RULE
          }
        })
        yield* waitReady(app.url)
        for (const name of ALS_FIXTURES) yield* Effect.promise(() => sendAlsMessages(app.alsPort, [fixtureBytes(name)]))
        yield* TestClock.adjust("1 second")
        expect(yield* edges(app.url)).toStrictEqual([
          ["ingress", "productpage", 1, 0],
          ["productpage", "detail", 1, 0],
          ["productpage", "review", 0, 1],
          ["UNKNOWN", "ingress", 0, 1]
        ])
      })
    )
  }

  it.live("answers /readyz with 503 until the first full sync", () =>
    Effect.gen(function* () {
      const api = yield* fixtureClusterApi
      yield* Effect.promise(() => api.stop()) // the API server is not reachable yet
      const app = yield* startMeshsight({
        analyzers: analyzerLayers(api),
        config: { MESHSIGHT_HTTP_ANALYZERS: "k8s-mesh", MESHSIGHT_TCP_ANALYZERS: "mx-mesh" }
      })
      yield* Effect.sleep("200 millis") // time to try the API server and fail: still not ready afterwards
      expect(yield* readyz(app.url)).toBe(503)
      yield* Effect.promise(() => api.start(api.port))
      yield* waitReady(app.url)
      expect(yield* readyz(app.url)).toBe(200)
    })
  )
})

describe("k8s-mesh in the analyzer chain", () => {
  // mx-mesh names `a` and `b` from Istio's metadata ("a.ns"); k8s-mesh knows only `a`'s pod, by its Service ("a").
  const a: Workload = { name: "a-0", namespace: "ns", ip: "10.0.0.1", labels: { app: "a" }, workloadName: "a" }
  const b: Workload = { ...a, name: "b-0", ip: "10.0.0.2", labels: { app: "b" }, workloadName: "b" }
  const peers = { client: a, server: b, port: 80, host: "b.ns.svc.cluster.local" }
  const call = { startMs: Date.parse("2024-01-01T00:00:00Z"), durationMs: 1 }
  const message = (kind: "http" | "tcp") =>
    decodeAlsMessage(
      encodeAlsMessageJson(
        alsMessageJson(
          kind === "http"
            ? { http: [outboundHttpEntry(call, peers)] }
            : { tcp: [outboundTcpEntry({ ...call, receivedBytes: 1, sentBytes: 1 }, peers)] },
          { workload: a }
        )
      )
    )

  const cases: ReadonlyArray<[ReadonlyArray<string>, [string | undefined, string | undefined]]> = [
    [["k8s-mesh"], ["a", undefined]],
    [["mx-mesh"], ["a.ns", "b.ns"]],
    [
      ["k8s-mesh", "mx-mesh"],
      ["a", "b.ns"]
    ],
    [
      ["mx-mesh", "k8s-mesh"],
      ["a.ns", "b.ns"]
    ]
  ]
  for (const kind of ["http", "tcp"] as const) {
    for (const [order, expected] of cases) {
      it.live(`${kind}: ${order.join(",")} → local ${expected[0]}, upstream ${expected[1]}`, () =>
        Effect.gen(function* () {
          const api = yield* fakeApi
          putWorkload(api, "a-0", "10.0.0.1", { namespace: "ns" })
          const config = {
            MESHSIGHT_HTTP_ANALYZERS: kind === "http" ? order.join(",") : "mx-mesh",
            MESHSIGHT_TCP_ANALYZERS: kind === "tcp" ? order.join(",") : "mx-mesh",
            MESHSIGHT_K8S_SERVICE_NAME_RULE: SERVICE_NAME_RULE
          }
          // Built in the test's Scope: the watches live as long as the resolver is used.
          const built = yield* Layer.build(chainLayer.pipe(Layer.provide(analyzerLayers(api)), Layer.provide(layerFromVariables(config))))
          const resolver = yield* IdentityResolver.pipe(Effect.provide(built))
          expect(resolver[kind]).toStrictEqual(order)
          for (let i = 0; i < 500 && !resolver.isReady(); i++) yield* Effect.sleep("10 millis")
          const m = message(kind)
          const sides = m.entries.map(() => emptySides())
          resolver.forStream(parseNode(m.identifier!.node)).fill(m.entries, sides)
          expect([sides[0].local?.service, sides[0].upstream?.service]).toStrictEqual(expected)
        })
      )
    }
  }
})
