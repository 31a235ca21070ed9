// The service decodes an entry's addresses only where something reads them (an analyzer that identifies by IP,
// k8s-mesh, or error logs: `persistence`), and its filter state only for mx-mesh. Shown over real gRPC by an entry
// whose upstream address, or one filter state key, is not UTF-8: rejected, and counted so, where that group of
// fields is read; decoded like any other where it is skipped.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, type CallPeers, outboundHttpEntry, type Workload } from "../../sim/istio-entries.ts"
import { K8sMesh } from "../../src/identity/k8s-mesh/k8s-mesh.ts"
import type { Variables } from "../../src/config.ts"
import { metricValue } from "../../testkit/meshsight-process.ts"
import { sendAlsMessages } from "../support/als-client.ts"
import { ipTableAnalyzer } from "../support/ip-table-analyzer.ts"
import { type MeshsightOptions, startMeshsight } from "../support/meshsight.ts"

const pod = (app: string, ip: string): Workload => ({ name: `${app}-0`, namespace: "default", ip, labels: { app }, workloadName: app })
const toReviews: CallPeers = {
  client: pod("productpage", "10.0.0.1"),
  server: pod("reviews", "10.0.0.2"),
  port: 9080,
  host: "reviews.default.svc.cluster.local"
}
const PLACEHOLDER = "BAD-TEXT-PLACEHOLDER"

/**
 * Two entries of one message; in the second, the upstream address or a filter state key holds a 2-byte UTF-8 lead
 * byte with nothing after it.
 */
const message = (broken: "address" | "filterState"): Uint8Array => {
  const call = { startMs: Date.now() - 1_000, durationMs: 5, path: "/reviews/1" }
  const bad = outboundHttpEntry({ ...call, requestId: "bad" }, toReviews) as { commonProperties: Record<string, any> }
  const common = bad.commonProperties
  if (broken === "address") common.upstreamRemoteAddress = { socketAddress: { address: PLACEHOLDER, portValue: 9080 } }
  else {
    const [key, value] = Object.entries(common.filterStateObjects)[0]
    common.filterStateObjects = { [PLACEHOLDER]: value, ...common.filterStateObjects }
    expect(key).not.toBe(PLACEHOLDER)
  }
  const bytes = encodeAlsMessageJson(
    alsMessageJson({ http: [outboundHttpEntry({ ...call, requestId: "ok" }, toReviews), bad] }, { workload: toReviews.client })
  )
  const at = Buffer.from(bytes).indexOf(PLACEHOLDER)
  expect(at).toBeGreaterThan(0)
  bytes[at + 1] = 0xc3
  return bytes
}

// The counters are the process's, shared by the runs here: their rise is the message's.
const counters = (url: string) =>
  Effect.promise(() => fetch(`${url}/metrics`).then((r) => r.text())).pipe(
    Effect.map((text) => [
      metricValue(text, 'meshsight_als_entries_total{kind="http"}'),
      metricValue(text, "meshsight_als_entry_decode_failures_total")
    ])
  )

const outcome = (config: Variables, analyzers?: MeshsightOptions["analyzers"], broken: "address" | "filterState" = "address") =>
  Effect.scoped(
    Effect.gen(function* () {
      const app = yield* startMeshsight({ config, ...(analyzers === undefined ? {} : { analyzers }) })
      const before = yield* counters(app.url)
      expect(yield* Effect.promise(() => sendAlsMessages(app.alsPort, [message(broken)]))).toStrictEqual({ code: 0, details: "" })
      const after = yield* counters(app.url)
      return { decoded: after[0] - before[0], rejected: after[1] - before[1] }
    })
  )

describe("the fields the service decodes", () => {
  it.effect("skips the addresses where only mx-mesh and the metrics run", () =>
    Effect.gen(function* () {
      expect(yield* outcome({ MESHSIGHT_HTTP_ANALYZERS: "mx-mesh", MESHSIGHT_TCP_ANALYZERS: "mx-mesh" })).toStrictEqual({
        decoded: 2,
        rejected: 0
      })
    })
  )

  it.effect("reads them for an analyzer that identifies by IP, which reads no filter state", () =>
    Effect.gen(function* () {
      const byIp = Layer.succeed(K8sMesh, ipTableAnalyzer("k8s-mesh", {}))
      const config = { MESHSIGHT_HTTP_ANALYZERS: "k8s-mesh", MESHSIGHT_TCP_ANALYZERS: "k8s-mesh" }
      expect(yield* outcome(config, byIp)).toStrictEqual({ decoded: 1, rejected: 1 })
      expect(yield* outcome(config, byIp, "filterState")).toStrictEqual({ decoded: 2, rejected: 0 })
    })
  )

  it.effect("reads the filter state for mx-mesh", () =>
    Effect.gen(function* () {
      const config = { MESHSIGHT_HTTP_ANALYZERS: "mx-mesh", MESHSIGHT_TCP_ANALYZERS: "mx-mesh" }
      expect(yield* outcome(config, undefined, "filterState")).toStrictEqual({ decoded: 1, rejected: 1 })
    })
  )

  it.effect("reads them for error logs, HTTP or TCP: a log names the upstream address", () =>
    Effect.gen(function* () {
      expect(yield* outcome({ MESHSIGHT_HTTP_ANALYZERS: "mx-mesh,persistence", MESHSIGHT_TCP_ANALYZERS: "mx-mesh" })).toStrictEqual({
        decoded: 1,
        rejected: 1
      })
      expect(yield* outcome({ MESHSIGHT_HTTP_ANALYZERS: "mx-mesh", MESHSIGHT_TCP_ANALYZERS: "mx-mesh,persistence" })).toStrictEqual({
        decoded: 1,
        rejected: 1
      })
    })
  )
})
