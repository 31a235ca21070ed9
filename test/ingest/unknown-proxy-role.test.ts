// A node id that names no Istio proxy role (not sidecar~, router~ or waypoint~): as SkyWalking, meshsight does not
// guess the entries' sides. Against a real meshsight process over a real gRPC client: that stream's entries are
// skipped and counted, one warning names the node (quoted, escaped), the stream ends OK, and a sidecar's stream on
// the same server is analyzed as usual.
import * as grpc from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parseNode, proxyRole, UnknownProxyRole } from "../../src/domain/node.ts"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, inboundHttpEntry, type Workload, workloadMetadata } from "../../sim/istio-entries.ts"
import { openAlsStream, sendAlsMessages } from "../support/als-client.ts"
import { getJson } from "../support/http-json.ts"
import { type MeshsightProcess, metricValue, spawnMeshsight } from "../../testkit/meshsight-process.ts"
import { waitFor } from "../support/wait-for.ts"

const client: Workload = { name: "web-0", namespace: "shop", ip: "10.2.0.1", labels: { app: "web" }, workloadName: "web" }
const server: Workload = { name: "cart-0", namespace: "shop", ip: "10.2.0.2", labels: { app: "cart" }, workloadName: "cart" }
const entries = (n: number) =>
  Array.from({ length: n }, () =>
    inboundHttpEntry({ startMs: Date.now(), durationMs: 7 }, { client, server, port: 8080, host: "cart.shop.svc.cluster.local" })
  )

/** A stream's messages from a proxy whose node id is `id` (Istio's workload metadata otherwise). */
const fromNode = (id: string, ...sizes: ReadonlyArray<number>) =>
  sizes.map((n, i) =>
    encodeAlsMessageJson({
      ...(i === 0 ? { identifier: { node: { id, metadata: workloadMetadata(server) }, logName: "als" } } : {}),
      httpLogs: { logEntry: entries(n) }
    })
  )

let app: MeshsightProcess

beforeAll(async () => {
  app = await spawnMeshsight({ MESHSIGHT_FLUSH_INTERVAL_MS: "100" })
})
afterAll(async () => {
  await app?.stop()
})

describe("a node id with no proxy role", () => {
  it("is any id whose prefix before the first ~ is not sidecar, router or waypoint", () => {
    expect(["sidecar~1~p.ns~ns", "router~1~g.ns~ns", "waypoint~1~w.ns~ns"].map(proxyRole)).toEqual(["sidecar", "proxy", "waypoint"])
    expect(["sidecar", "Sidecar~1~p.ns~ns", "ztunnel~1~z.ns~ns", "", "~sidecar~"].map(proxyRole)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined
    ])
    expect(() => parseNode({ id: "front-proxy", cluster: "", metadata: {} })).toThrow(UnknownProxyRole)
  })

  it("skips and counts that stream's entries, warns once per stream, and leaves other streams alone", async () => {
    const sidecar = openAlsStream(app.grpcPort)
    await sidecar.write(encodeAlsMessageJson(alsMessageJson({ http: entries(2) }, { workload: server })))

    // ztunnel's and a plain Envoy's ids, and one with a quote and a line break (client input in a log line).
    expect(
      await sendAlsMessages(app.grpcPort, fromNode("ztunnel~10.2.0.9~ztunnel-x.istio-system~istio-system.svc.cluster.local", 2, 3))
    ).toEqual({ code: grpc.status.OK, details: "" })
    expect(await sendAlsMessages(app.grpcPort, fromNode("front-proxy", 1))).toEqual({ code: grpc.status.OK, details: "" })
    expect(await sendAlsMessages(app.grpcPort, fromNode('evil"\nsidecar~', 1))).toEqual({ code: grpc.status.OK, details: "" })

    await sidecar.write(encodeAlsMessageJson(alsMessageJson({ http: entries(1) })))
    expect(await sidecar.end()).toEqual({ code: grpc.status.OK, details: "" })
    sidecar.close()

    const text = await waitFor(
      "the sidecar's entries counted",
      async () => (await fetch(`${app.url}/metrics`)).text(),
      (t) =>
        metricValue(t, 'meshsight_als_entries_total{kind="http"}') >= 10 &&
        metricValue(t, 'meshsight_als_entries_skipped_total{reason="unknown_proxy_role"}') >= 7 &&
        metricValue(t, 'meshsight_records_total{detect_point="server"}') >= 3
    )
    expect(metricValue(text, 'meshsight_als_entries_skipped_total{reason="unknown_proxy_role"}')).toBe(7)
    expect(metricValue(text, 'meshsight_als_entries_total{kind="http"}')).toBe(10)
    expect(metricValue(text, 'meshsight_records_total{detect_point="server"}')).toBe(3)
    expect(metricValue(text, "meshsight_als_stream_errors_total")).toBe(0)

    const log = app.output()
    const warnings = log.split("\n").filter((line) => line.includes("does not start with sidecar~, router~ or waypoint~"))
    expect(warnings.length).toBe(3)
    expect(warnings.map((line) => line.slice(line.indexOf("skipping")).split(" (")[0])).toEqual([
      'skipping the entries of node "ztunnel~10.2.0.9~ztunnel-x.istio-system~istio-system.svc.cluster.local"',
      'skipping the entries of node "front-proxy"',
      // Quoted and escaped: the id stays on its one line.
      'skipping the entries of node "evil\\"\\nsidecar~"'
    ])

    // The sidecar's records reach the API at the aggregator's next flush.
    const cartCalls = (services: Array<{ name: string; metrics?: { calls: number } | null }>) =>
      services.find((s) => s.name === "cart.shop")?.metrics?.calls
    const services = await waitFor(
      "the sidecar's calls queryable",
      async () => (await getJson(app.url, "/api/services")).body.services,
      (list) => cartCalls(list) === 3
    )
    expect(cartCalls(services)).toBe(3)
    expect(app.child.exitCode).toBeNull()
  })
})
