// The proxies' MetricsService data where Prometheus users see it: a real meshsight (in-process, real gRPC and HTTP
// on loopback) gets Envoy's StreamMetrics from a grpc-js client; /metrics/mesh (text and OpenMetrics) and every
// remote-write snapshot then carry SkyWalking's envoy_* metrics as gauges with service and instance labels.
import { execFileSync } from "node:child_process"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import * as grpc from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { counterFamily, encodeMetricsMessage, type FamilyJson, gaugeFamily } from "../../sim/proxy-stats.ts"
import { bookinfo } from "../../sim/topology.ts"
import { openAlsStream } from "../support/als-client.ts"
import { parseExposition, samplesOf } from "../support/exposition.ts"
import { type RunningMeshsight, shiftableClock, startMeshsightAsync } from "../support/meshsight.ts"
import { type DecodedSeries, decodeWriteRequest } from "../support/write-request.ts"
import { waitFor } from "../support/wait-for.ts"

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0)
const REVIEWS = "cluster.outbound|9080||reviews.default.svc.cluster.local"
const INBOUND = "cluster.inbound|9080||"
const [pp0, pp1] = bookinfo({ instances: 2 }).pods.filter((p) => p.service === "productpage")

const clock = shiftableClock()
const bodies: Array<Buffer> = []
let receiver: Server
let app: RunningMeshsight & { readonly stop: () => Promise<void> }
let text: string

/** One proxy's stream: its flushes in order, the identifier on the first. */
const stream = async (pod: typeof pp0, flushes: ReadonlyArray<ReadonlyArray<FamilyJson>>) => {
  const s = openAlsStream(app.alsPort, "v3", { service: "metrics" })
  for (const [i, families] of flushes.entries()) await s.write(encodeMetricsMessage(families, i === 0 ? { workload: pod } : undefined))
  expect(await s.end()).toEqual({ code: grpc.status.OK, details: "" })
  s.close()
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      bodies.push(Buffer.concat(chunks))
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r))
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/api/v1/write`
  app = await startMeshsightAsync({
    clock: clock.clock,
    config: { MESHSIGHT_REMOTE_WRITE_URL: url, MESHSIGHT_REMOTE_WRITE_INTERVAL_MS: "200", MESHSIGHT_REPLICA: "r1" }
  })

  // Minute 0 (12:00): two productpage proxies flush twice.
  clock.setTime(T0 + 1000)
  await stream(pp0, [
    [
      gaugeFamily("server.memory_heap_size", 100, T0),
      gaugeFamily("server.concurrency", 2, T0),
      gaugeFamily("server.total_connections", 14, T0),
      counterFamily(`${REVIEWS}.upstream_rq_total`, 10, T0),
      gaugeFamily(`${REVIEWS}.upstream_cx_active`, 4, T0),
      gaugeFamily(`${REVIEWS}.membership_healthy`, 3, T0),
      gaugeFamily(`${INBOUND}.upstream_cx_active`, 1, T0)
    ],
    [
      gaugeFamily("server.memory_heap_size", 300, T0),
      counterFamily(`${REVIEWS}.upstream_rq_total`, 25, T0),
      gaugeFamily(`${REVIEWS}.upstream_cx_active`, 5, T0),
      gaugeFamily(`${REVIEWS}.membership_healthy`, 2, T0)
    ]
  ])
  await stream(pp1, [
    [counterFamily(`${REVIEWS}.upstream_rq_total`, 100, T0), gaugeFamily(`${REVIEWS}.upstream_cx_active`, 2, T0)],
    [counterFamily(`${REVIEWS}.upstream_rq_total`, 107, T0)]
  ])
  // 12:01: minute 0 is whole, so its maxima and increases are exported too.
  clock.setTime(T0 + 61_000)
  text = await (await fetch(`${app.url}/metrics/mesh`)).text()
})

afterAll(async () => {
  await app?.stop()
  receiver?.close()
})

const valueOf = (name: string, labels: Record<string, string>) => {
  const found = samplesOf(parseExposition(text), name).filter((s) => JSON.stringify(s.labels) === JSON.stringify(labels))
  expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1)
  return found[0].value
}
const instance = (pod: typeof pp0) => ({ instance: pod.name, service: "productpage.default" })

describe("the proxies' MetricsService data at /metrics/mesh", () => {
  it("per instance: SkyWalking's envoy_* names, labels service and instance", () => {
    expect(text).toContain("# TYPE envoy_heap_memory_used gauge\n")
    expect(valueOf("envoy_heap_memory_used", instance(pp0))).toBe(300) // the minute's last value
    expect(valueOf("envoy_heap_memory_max_used", instance(pp0))).toBe(300)
    expect(valueOf("envoy_worker_threads", instance(pp0))).toBe(2)
    expect(valueOf("envoy_total_connections_used", instance(pp0))).toBe(14)
    // Nothing the proxy did not report.
    expect(samplesOf(parseExposition(text), "envoy_memory_allocated")).toEqual([])
    expect(samplesOf(parseExposition(text), "envoy_heap_memory_used", { instance: pp1.name })).toEqual([])
  })

  it("per cluster with cluster_name; envoy_sr_* summed over the source's proxies per outbound cluster", () => {
    const reviews = (pod: typeof pp0) => ({ cluster_name: "reviews.default", ...instance(pod) })
    expect(valueOf("envoy_cluster_membership_healthy", reviews(pp0))).toBe(2)
    expect(valueOf("envoy_cluster_up_cx_active", reviews(pp0))).toBe(5)
    expect(valueOf("envoy_cluster_up_cx_active", { cluster_name: "inbound:9080.-", ...instance(pp0) })).toBe(1)
    // Per-minute increases: the first value of a counter is its baseline.
    expect(valueOf("envoy_cluster_up_rq_incr", reviews(pp0))).toBe(15)
    expect(valueOf("envoy_cluster_up_rq_incr", reviews(pp1))).toBe(7)
    const relation = { destination_service: "reviews.default", source_service: "productpage.default" }
    expect(valueOf("envoy_sr_cluster_up_rq_incr", relation)).toBe(22)
    expect(valueOf("envoy_sr_cluster_up_cx_active", relation)).toBe(7) // the inbound cluster is no relation
    expect(samplesOf(parseExposition(text), "envoy_sr_cluster_membership_healthy")).toEqual([])
  })

  it("promtool accepts the exposition with the proxies' gauges in it", () => {
    let output = ""
    try {
      execFileSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] })
    } catch (e: any) {
      expect(e.status).toBe(3) // lint remarks only; a parse error is 1
      output = `${e.stdout}${e.stderr}`
    }
    expect(output.split("\n").filter((l) => l.startsWith("envoy_"))).toEqual([])
  })

  it("OpenMetrics carries the same gauges before its # EOF", async () => {
    const res = await fetch(`${app.url}/metrics/mesh`, { headers: { accept: "application/openmetrics-text;version=1.0.0" } })
    const om = await res.text()
    expect(om).toContain("# TYPE envoy_sr_cluster_up_rq_incr gauge\n")
    expect(om.endsWith("# EOF\n")).toBe(true)
    const envoy = (t: string) => parseExposition(t).filter((s) => s.name.startsWith("envoy_"))
    expect(envoy(om)).toEqual(envoy(text))
  })
})

describe("the proxies' MetricsService data over remote write", () => {
  it("every snapshot carries them, with meshsight_replica and sorted labels", async () => {
    const series = await waitFor(
      "envoy_sr_* in the newest remote-write body",
      (): Array<DecodedSeries> => {
        const newest = bodies.at(-1)
        return newest === undefined ? [] : decodeWriteRequest(newest)
      },
      (decoded) => decoded.some((s) => s.labels.__name__ === "envoy_sr_cluster_up_rq_incr"),
      10_000,
      100
    )
    const heap = series.filter((s) => s.labels.__name__ === "envoy_heap_memory_used")
    expect(heap.map((s) => s.labels)).toEqual([{ __name__: "envoy_heap_memory_used", ...instance(pp0), meshsight_replica: "r1" }])
    expect(heap[0].samples).toHaveLength(1)
    expect(heap[0].samples[0][0]).toBe(300)
    // Sample times are the snapshot's: after 12:01 on the app's clock.
    expect(heap[0].samples[0][1]).toBeGreaterThanOrEqual(T0 + 61_000)
    const relation = series.find((s) => s.labels.__name__ === "envoy_sr_cluster_up_rq_incr")!
    expect(relation.labelOrder).toEqual(["__name__", "destination_service", "meshsight_replica", "source_service"])
    expect(relation.samples[0][0]).toBe(22)
    const perCluster = series.find((s) => s.labels.__name__ === "envoy_cluster_up_rq_incr" && s.labels.instance === pp1.name)!
    expect(perCluster.labelOrder).toEqual(["__name__", "cluster_name", "instance", "meshsight_replica", "service"])
    expect(perCluster.samples[0][0]).toBe(7)
  })
})
