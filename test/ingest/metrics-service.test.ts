// Envoy's MetricsService against a real meshsight process, over loopback with a real grpc-js client: the captured
// message gives SkyWalking's instance metrics, the simulated proxies their cluster and relation metrics, and bad
// input ends (or skips) only what is bad, counted and logged, while a healthy stream keeps flowing.
import * as grpc from "@grpc/grpc-js"
import protobuf from "protobufjs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, type Workload } from "../../sim/istio-entries.ts"
import { encodeMetricsMessage, gaugeFamily, makeProxyStats } from "../../sim/proxy-stats.ts"
import { seededRandom } from "../../sim/random.ts"
import { bookinfo } from "../../sim/topology.ts"
import { openAlsStream, sendAlsMessages } from "../support/als-client.ts"
import { captureBytes, captureFrom } from "../support/envoy-metric-capture.ts"
import { getJson } from "../support/http-json.ts"
import { freePort, type MeshsightProcess, metricValue, spawnMeshsight } from "../../testkit/meshsight-process.ts"
import { waitFor } from "../support/wait-for.ts"

const gateway: Workload = {
  name: "istio-ingressgateway-5d9f8",
  namespace: "istio-system",
  ip: "10.44.2.56",
  labels: { app: "istio-ingressgateway" },
  workloadName: "istio-ingressgateway"
}
const GATEWAY_PROXY = "/api/services/istio-ingressgateway.istio-system/instances/istio-ingressgateway-5d9f8/proxy"

type Metric = { name: string; latest: number | null; series: Array<{ time: number; value: number }> }
const latest = (metrics: ReadonlyArray<Metric>) => Object.fromEntries(metrics.map((m) => [m.name, m.latest]))

let app: MeshsightProcess
let alsPort: number

beforeAll(async () => {
  alsPort = await freePort()
  // MetricsService is served where ALS is: here the dedicated ALS listener.
  app = await spawnMeshsight({
    MESHSIGHT_ALS_GRPC_PORT: String(alsPort),
    MESHSIGHT_ALS_GRPC_HOST: "127.0.0.1",
    MESHSIGHT_GRPC_MAX_MESSAGE_BYTES: "65536"
  })
})
afterAll(async () => {
  await app?.stop()
})

const metrics = async () => (await fetch(`${app.url}/metrics`)).text()
const send = (messages: ReadonlyArray<Uint8Array>, version: "v2" | "v3" = "v3") =>
  sendAlsMessages(alsPort, messages, version, { service: "metrics" })

describe("Envoy MetricsService", () => {
  it("the captured message: SkyWalking's instance metrics once the node names its workload", async () => {
    // As captured, the node's metadata ({skywalking: "iscool"}) names nothing: the stream contributes nothing.
    expect(await send([captureBytes()])).toEqual({ code: grpc.status.OK, details: "" })
    let text = await metrics()
    expect(metricValue(text, 'meshsight_metrics_skipped_total{reason="unidentified_stream"}')).toBe(1)
    expect(metricValue(text, "meshsight_proxy_instances")).toBe(0)
    expect(app.output()).toMatch(/MetricsService stream from ingress .*names no service or instance/)

    expect(await send([captureFrom(gateway)])).toEqual({ code: grpc.status.OK, details: "" })
    const { status, body } = await getJson(app.url, GATEWAY_PROXY)
    expect(status).toBe(200)
    expect(latest(body.metrics)).toEqual({
      envoy_heap_memory_used: 3_145_728, // server.memory_heap_size
      envoy_heap_memory_max_used: 3_145_728,
      envoy_memory_allocated: null, // not in the capture
      envoy_memory_allocated_max: null,
      envoy_memory_physical_size: null,
      envoy_memory_physical_size_max: null,
      envoy_total_connections_used: 14, // server.total_connections
      envoy_parent_connections_used: 50, // server.parent_connections
      envoy_worker_threads: null,
      envoy_worker_threads_max: null,
      envoy_bug_failures: null
    })
    // cluster.service_stats.* are neither inbound nor outbound clusters: no rule reads them.
    expect(body.clusters).toEqual([])
    text = await metrics()
    expect(metricValue(text, "meshsight_metrics_families_total")).toBe(10)
    expect(metricValue(text, "meshsight_proxy_instances")).toBe(1)
  })

  it("simulated proxies over v2 and v3: cluster metrics per instance and envoy_sr_* per relation", async () => {
    const topology = bookinfo({ instances: 1 })
    const stats = makeProxyStats(topology, seededRandom(7), 0)
    const productpage = topology.pods.find((p) => p.service === "productpage")!
    const t0 = Date.now()
    const first = encodeMetricsMessage(stats.flush(productpage, t0), { workload: productpage })
    const second = encodeMetricsMessage(stats.flush(productpage, t0 + 5000))
    expect(await send([first, second], "v2")).toEqual({ code: grpc.status.OK, details: "" })

    const { body } = await getJson(app.url, `/api/services/productpage.default/instances/${productpage.name}/proxy`)
    expect(body.clusters.map((c: { clusterName: string; direction: string }) => [c.clusterName, c.direction])).toEqual([
      ["details.default", "outbound"],
      ["inbound:9080.-", "inbound"],
      ["reviews.default", "outbound"]
    ])
    const reviews = latest(body.clusters.find((c: { clusterName: string }) => c.clusterName === "reviews.default").metrics)
    expect(reviews.envoy_cluster_membership_healthy).toBe(3) // the three reviews pods
    expect(reviews.envoy_cluster_up_rq_incr).toBeGreaterThan(0)
    expect(latest(body.metrics).envoy_worker_threads).toBe(2)

    const relation = await getJson(app.url, "/api/proxy-relations?source=productpage.default&target=reviews.default")
    expect(relation.status).toBe(200)
    expect(relation.body.metrics.map((m: Metric) => m.name)).toEqual([
      "envoy_sr_cluster_up_cx_active",
      "envoy_sr_cluster_up_cx_incr",
      "envoy_sr_cluster_up_rq_active",
      "envoy_sr_cluster_up_rq_incr",
      "envoy_sr_cluster_up_rq_pending_active",
      "envoy_sr_cluster_lb_healthy_panic_incr",
      "envoy_sr_cluster_up_cx_none_healthy_incr"
    ])
    expect(latest(relation.body.metrics).envoy_sr_cluster_up_rq_incr).toBe(reviews.envoy_cluster_up_rq_incr)
    expect((await getJson(app.url, "/api/proxy-relations?source=productpage.default&target=inbound:9080.-")).status).toBe(404)
    expect((await getJson(app.url, "/api/services/productpage.default/instances/nobody/proxy")).status).toBe(404)

    const health = await getJson(app.url, "/api/services/reviews.default/proxies")
    expect(health.body.instances).toEqual([])
    const own = await getJson(app.url, "/api/services/productpage.default/proxies")
    expect(own.body.instances).toMatchObject([{ instance: productpage.name, clusters: 3, unhealthyClusters: [] }])
  })

  it("bad input ends or skips only what is bad, counted and logged; a healthy stream keeps flowing", async () => {
    const healthy = openAlsStream(alsPort, "v3", { service: "metrics" })
    await healthy.write(captureFrom(gateway))

    const garbage = await send([new Uint8Array([0xff, 0xff, 0xff, 0xff])])
    expect(garbage.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(garbage.details).toMatch(/message 1 is not a StreamMetricsMessage/)

    const whole = captureFrom(gateway)
    const truncated = await send([whole.subarray(0, whole.length - 7)])
    expect(truncated.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(truncated.details).toMatch(/runs past the end|truncated/)

    const noIdentifier = await send([encodeMetricsMessage([gaugeFamily("server.memory_heap_size", 1, 0)])])
    expect(noIdentifier).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/must carry the identifier/) })

    const oversized = await send([new Uint8Array(100_000)])
    expect(oversized.code).toBe(grpc.status.RESOURCE_EXHAUSTED)

    // A family of a type the client model does not define (7) is skipped; the families beside it count.
    const unknownType = protobuf.Writer.create()
      .uint32((1 << 3) | 2)
      .string("server.memory_heap_size")
      .uint32((3 << 3) | 0)
      .uint32(7)
      .finish()
    // Concatenated encodings merge: the repeated envoy_metrics (2) gets the odd family appended.
    const mixed = Buffer.concat([
      encodeMetricsMessage([gaugeFamily("server.concurrency", 4, 0)], { workload: gateway }),
      protobuf.Writer.create()
        .uint32((2 << 3) | 2)
        .bytes(unknownType)
        .finish()
    ])
    expect(await send([mixed])).toEqual({ code: grpc.status.OK, details: "" })

    // NaN and ±Inf gauge values are left out, counted: the heap keeps its last real value.
    const nonFinite = encodeMetricsMessage(
      [gaugeFamily("server.memory_heap_size", Number.NaN, 0), gaugeFamily("server.total_connections", Number.POSITIVE_INFINITY, 0)],
      { workload: gateway }
    )
    expect(await send([nonFinite])).toEqual({ code: grpc.status.OK, details: "" })

    await healthy.write(captureFrom(gateway)) // a second identifier on the same stream changes nothing
    expect(await healthy.end()).toEqual({ code: grpc.status.OK, details: "" })
    healthy.close()

    // The broken stream is counted when grpc-js reports the cancel; wait for it rather than a fixed time.
    const counted = {
      'meshsight_metrics_stream_errors_total{reason="malformed_message"}': 2,
      'meshsight_metrics_stream_errors_total{reason="missing_identifier"}': 1,
      'meshsight_metrics_stream_errors_total{reason="broken"}': 1,
      'meshsight_metrics_skipped_total{reason="family_decode"}': 1,
      'meshsight_metrics_skipped_total{reason="non_finite"}': 2
    }
    const text = await waitFor("the bad streams counted", metrics, (t) =>
      Object.entries(counted).every(([series, n]) => metricValue(t, series) >= n)
    )
    expect(metricValue(text, 'meshsight_metrics_stream_errors_total{reason="malformed_message"}')).toBe(2)
    expect(metricValue(text, 'meshsight_metrics_stream_errors_total{reason="missing_identifier"}')).toBe(1)
    expect(metricValue(text, 'meshsight_metrics_stream_errors_total{reason="broken"}')).toBe(1)
    expect(metricValue(text, 'meshsight_metrics_skipped_total{reason="family_decode"}')).toBe(1)
    expect(metricValue(text, 'meshsight_metrics_skipped_total{reason="non_finite"}')).toBe(2)
    const log = app.output()
    expect(log).toMatch(/MetricsService stream from .* rejected \(malformed_message\): message 1 is not a StreamMetricsMessage/)
    expect(log).toMatch(/skipping unreadable metric families .*unknown metric type 7/)

    const gatewayMetrics = latest((await getJson(app.url, GATEWAY_PROXY)).body.metrics)
    expect(gatewayMetrics.envoy_worker_threads).toBe(4)
    expect(gatewayMetrics.envoy_heap_memory_used).toBe(3_145_728)
    expect(app.child.exitCode).toBeNull()
  })
})

describe("MESHSIGHT_ACCEPT_METRICS_SERVICE=false (SW_ENVOY_METRIC_SERVICE)", () => {
  it("leaves the service unregistered (UNIMPLEMENTED) and ALS served", async () => {
    const off = await spawnMeshsight({ SW_ENVOY_METRIC_SERVICE: "false" })
    try {
      const refused = await sendAlsMessages(off.grpcPort, [captureFrom(gateway)], "v3", { service: "metrics" })
      expect(refused.code).toBe(grpc.status.UNIMPLEMENTED)
      const als = encodeAlsMessageJson(alsMessageJson({ http: [] }, { workload: gateway }))
      expect((await sendAlsMessages(off.grpcPort, [als])).code).toBe(grpc.status.OK)
    } finally {
      await off.stop()
    }
  })
})
