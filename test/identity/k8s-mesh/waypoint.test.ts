// k8s-mesh and ambient mode's waypoint proxies: the waypoint is named by the address its node metadata gives
// (INSTANCE_IPS), both hops of its entries are recorded, and its HBONE hops (Envoy internal addresses, envoy://…)
// are never looked up as IPs but counted as unknown with their own reason. Messages are encoded with Envoy's
// official protos and decoded by meshsight's codec; names come from the fake API server through the real client.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { analyze } from "../../../src/analysis/analyze.ts"
import { makeEndpointNamer } from "../../../src/analysis/endpoint-names.ts"
import { NO_RULES } from "../../../src/analysis/endpoint-rules.ts"
import { emptySides } from "../../../src/domain/identity.ts"
import { parseNode } from "../../../src/domain/node.ts"
import { decodeAlsMessage } from "../../../src/protocol/als-codec.ts"
import { unresolvableAddresses } from "../../../src/telemetry.ts"
import { FakeKubeApi } from "../../../testkit/fake-kube-api.ts"
import { StreamAccessLogsMessage } from "../../protocol/support/official.ts"
import { eventually, putWorkload, startK8sMesh } from "../../../testkit/cluster-objects.ts"

const fakeApi = Effect.acquireRelease(
  Effect.promise(() => new FakeKubeApi().start()),
  (api) => Effect.promise(() => api.stop())
)

const socket = (address: string, portValue: number) => ({ socketAddress: { address, portValue } })

/** One waypoint message: productpage (10.0.0.3) → waypoint → `upstream`. */
const waypointMessage = (upstream: object) =>
  decodeAlsMessage(
    StreamAccessLogsMessage.encode(
      StreamAccessLogsMessage.fromObject({
        identifier: {
          // The node id's address is not the waypoint pod's here: only INSTANCE_IPS can name it.
          node: {
            id: "waypoint~10.255.0.1~waypoint-7f9c4.default~default.svc.cluster.local",
            metadata: { fields: { INSTANCE_IPS: { stringValue: "10.0.9.9,fd00::9:9" } } }
          },
          logName: "als"
        },
        httpLogs: {
          logEntry: [
            {
              commonProperties: {
                downstreamRemoteAddress: socket("10.0.0.3", 41234),
                // The waypoint's inner listener: Istio's HBONE termination reaches it through an internal address.
                downstreamLocalAddress: { envoyInternalAddress: { serverListenerName: "main_internal", endpointId: "10.96.0.20:9080" } },
                upstreamRemoteAddress: upstream,
                upstreamCluster: "inbound-vip|9080|http|reviews.default.svc.cluster.local",
                startTime: { seconds: Math.floor(Date.now() / 1000) }
              },
              request: { requestMethod: 1, path: "/reviews/0" },
              response: { responseCode: { value: 200 } }
            }
          ]
        }
      })
    ).finish()
  )

const internalMisses = (side: string) =>
  Metric.value(Metric.withAttributes(unresolvableAddresses, { side, reason: "envoy_internal" })).pipe(Effect.map((s) => s.count))

const cluster = Effect.gen(function* () {
  const api = yield* fakeApi
  putWorkload(api, "waypoint-7f9c4", "10.0.9.9")
  putWorkload(api, "productpage-1", "10.0.0.3")
  putWorkload(api, "reviews-1", "10.0.0.1")
  const k8s = yield* startK8sMesh(api)
  yield* eventually(
    () => k8s.isReady(),
    (ready) => ready
  )
  return k8s
})

describe("k8s-mesh waypoints", () => {
  it.live("names the waypoint from INSTANCE_IPS and records both hops, as for a gateway", () =>
    Effect.gen(function* () {
      const k8s = yield* cluster
      const message = waypointMessage(socket("10.0.0.1", 9080))
      const node = parseNode(message.identifier!.node)
      const sides = message.entries.map(emptySides)
      k8s.forStream(node).fill(message.entries, sides)
      const misses = { local: 0, source: 0, destination: 0 }
      const records = analyze(node, message.entries, sides, misses, makeEndpointNamer(NO_RULES))
      expect(records.map((r) => [r.role, r.detectPoint, r.source?.service, r.destination.service])).toStrictEqual([
        ["waypoint", "server", "productpage", "waypoint"],
        ["waypoint", "client", "waypoint", "reviews"]
      ])
      expect(misses).toStrictEqual({ local: 0, source: 0, destination: 0 })
    })
  )

  it.live("leaves an Envoy internal upstream (envoy://…) unknown, counted with its reason", () =>
    Effect.gen(function* () {
      const k8s = yield* cluster
      // The waypoint's HBONE hop: its upstream is the internal listener that opens the tunnel, not a pod.
      const message = waypointMessage({ envoyInternalAddress: { serverListenerName: "connect_originate", endpointId: "10.0.0.1:9080" } })
      expect(message.entries[0].common.upstreamRemoteAddress).toStrictEqual({
        ip: "",
        port: 0,
        internal: "envoy://connect_originate/10.0.0.1:9080"
      })
      const node = parseNode(message.identifier!.node)
      const sides = message.entries.map(emptySides)
      const before = yield* internalMisses("destination")
      k8s.forStream(node).fill(message.entries, sides)
      expect(sides[0].upstream, "the endpoint id's IP is not looked up").toBeUndefined()
      expect((yield* internalMisses("destination")) - before).toBe(1)
      const misses = { local: 0, source: 0, destination: 0 }
      const records = analyze(node, message.entries, sides, misses, makeEndpointNamer(NO_RULES))
      expect(records.map((r) => r.detectPoint)).toStrictEqual(["server"])
      expect(misses.destination).toBe(1)
    })
  )
})
