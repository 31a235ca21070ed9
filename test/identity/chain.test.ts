// The analyzer chain: configured order, per-side fallback, separate HTTP and TCP lists, a clear error for a missing Layer.
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import { layerFromVariables } from "../../src/config.ts"
import { emptySides } from "../../src/domain/identity.ts"
import { parseNode } from "../../src/domain/node.ts"
import { chainLayer, makeChain } from "../../src/identity/chain.ts"
import { IdentityResolver } from "../../src/identity/identity-resolver.ts"
import { K8sMesh } from "../../src/identity/k8s-mesh/k8s-mesh.ts"
import { MxMesh } from "../../src/identity/mx-mesh/mx-mesh-analyzer.ts"
import { decodeAlsMessage } from "../../src/protocol/als-codec.ts"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, outboundHttpEntry, outboundTcpEntry, type Workload } from "../../sim/istio-entries.ts"
import { ipTableAnalyzer, workload } from "../support/ip-table-analyzer.ts"

const a: Workload = { name: "a-0", namespace: "ns", ip: "10.0.0.1", labels: { app: "a" }, workloadName: "a" }
const b: Workload = { ...a, name: "b-0", ip: "10.0.0.2", labels: { app: "b" }, workloadName: "b" }
const peers = { client: a, server: b, port: 80, host: "b.ns.svc.cluster.local" }

const message = (kind: "http" | "tcp") =>
  decodeAlsMessage(
    encodeAlsMessageJson(
      alsMessageJson(
        kind === "http"
          ? { http: [outboundHttpEntry({ startMs: 0, durationMs: 1 }, peers)] }
          : { tcp: [outboundTcpEntry({ startMs: 0, durationMs: 1, receivedBytes: 1, sentBytes: 1 }, peers)] },
        { workload: a }
      )
    )
  )

// The first analyzer knows only the local pod, the second knows both: each side is filled by the first that can.
const localOnly = ipTableAnalyzer("first", { "10.0.0.1": workload("a-from-first") })
const both = ipTableAnalyzer("second", { "10.0.0.1": workload("a-from-second"), "10.0.0.2": workload("b-from-second") })

const resolve = (chain: ReturnType<typeof makeChain>, kind: "http" | "tcp") => {
  const m = message(kind)
  const sides = m.entries.map(() => emptySides())
  chain.forStream(parseNode(m.identifier!.node)).fill(m.entries, sides)
  return [sides[0].local?.service, sides[0].upstream?.service]
}

describe("analyzer chain", () => {
  it("fills each side from the first analyzer that knows it", () => {
    expect(resolve(makeChain([localOnly, both], []), "http")).toStrictEqual(["a-from-first", "b-from-second"])
    expect(resolve(makeChain([both, localOnly], []), "http")).toStrictEqual(["a-from-second", "b-from-second"])
  })

  it("uses the TCP list for TCP entries", () => {
    const chain = makeChain([localOnly], [both])
    expect(resolve(chain, "http")).toStrictEqual(["a-from-first", undefined])
    expect(resolve(chain, "tcp")).toStrictEqual(["a-from-second", "b-from-second"])
  })

  it.effect("takes the configured analyzers from the Layers provided, each built once, in order", () =>
    Effect.gen(function* () {
      let builds = 0
      // The analyzers' own services, provided by Layers of the test's: no registry to go through.
      const analyzers = Layer.merge(
        Layer.effect(
          MxMesh,
          Effect.sync(() => (builds++, localOnly))
        ),
        Layer.effect(
          K8sMesh,
          Effect.sync(() => (builds++, both))
        )
      )
      const resolver = yield* IdentityResolver.pipe(
        Effect.provide(
          chainLayer.pipe(
            Layer.provide(analyzers),
            Layer.provide(layerFromVariables({ MESHSIGHT_HTTP_ANALYZERS: "k8s-mesh,mx-mesh", MESHSIGHT_TCP_ANALYZERS: "mx-mesh" }))
          )
        )
      )
      expect([resolver.http, resolver.tcp, builds]).toStrictEqual([["second", "first"], ["first"], 2])
    })
  )

  it.effect("names a configured analyzer whose Layer is missing", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        IdentityResolver.pipe(
          Effect.provide(
            chainLayer.pipe(
              Layer.provide(Layer.succeed(MxMesh, localOnly)),
              Layer.provide(layerFromVariables({ MESHSIGHT_HTTP_ANALYZERS: "mx-mesh,k8s-mesh" }))
            )
          )
        )
      )
      expect(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "").toContain("analyzer k8s-mesh is configured but no Layer provides it")
    })
  )
})
