// /metrics/mesh from a real meshsight (in-process, real gRPC and HTTP on loopback) fed with Istio-shaped ALS
// messages: the series, names and labels of Istio's standard metrics, as Istio's own proxies report them.
import { execFileSync } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import {
  alsMessageJson,
  gatewayHttpEntry,
  type HttpCall,
  inboundHttpEntry,
  inboundTcpEntry,
  outboundHttpEntry,
  type Role,
  type Workload
} from "../../sim/istio-entries.ts"
import { sendAlsMessages } from "../support/als-client.ts"
import { parseExposition, samplesOf, sumOf } from "../support/exposition.ts"
import { startMeshsightAsync } from "../support/meshsight.ts"

const web: Workload = {
  name: "web-7d9f-abcde",
  namespace: "shop",
  ip: "10.0.0.5",
  labels: { app: "web", version: "v7" },
  workloadName: "web",
  clusterId: "east",
  serviceAccount: "web-sa"
}
const cart: Workload = {
  name: "cart-5c6b-xyz12",
  namespace: "shop",
  ip: "10.0.0.6",
  labels: { app: "cart", version: "v1", "service.istio.io/canonical-name": "cart-svc", "service.istio.io/canonical-revision": "r2" },
  workloadName: "cart",
  serviceAccount: "cart-sa"
}
const gateway: Workload = {
  name: "istio-ingressgateway-6b8f-q1w2e",
  namespace: "istio-system",
  ip: "10.0.0.2",
  labels: { app: "istio-ingressgateway" },
  workloadName: "istio-ingressgateway"
}
const waypoint: Workload = {
  name: "waypoint-abc",
  namespace: "shop",
  ip: "10.0.0.3",
  labels: { app: "waypoint" },
  workloadName: "waypoint"
}
/** A workload whose label value needs every escape of the text format. */
const odd: Workload = {
  ...web,
  name: "odd-1",
  ip: "10.0.0.7",
  workloadName: "odd",
  labels: { app: 'we"ird\\app\nline ü🙂', version: "v1" }
}

const peers = (client: Workload, server: Workload) => ({ client, server, port: 8080, host: "cart.shop.svc.cluster.local" })
const withSizes = (entry: Record<string, any>) => ({
  ...entry,
  request: { ...entry.request, requestHeadersBytes: "100", requestBodyBytes: "20" },
  response: { ...entry.response, responseHeadersBytes: "60", responseBodyBytes: "2000" }
})

let app: Awaited<ReturnType<typeof startMeshsightAsync>>
let text: string

const send = async (workload: Workload, role: Role, http: ReadonlyArray<unknown>, tcp?: ReadonlyArray<unknown>) => {
  const message = encodeAlsMessageJson(alsMessageJson(tcp ? { tcp } : { http }, { workload, role }))
  expect((await sendAlsMessages(app.alsPort, [message])).code).toBe(0)
}

beforeAll(async () => {
  app = await startMeshsightAsync()
  const startMs = Date.now()
  const call: HttpCall = { startMs, durationMs: 30, path: "/cart", authority: "cart:8080", mtls: true }
  // web's sidecar: one failed call to cart (UH and UF flags) and one gRPC call.
  await send(web, "sidecar", [
    withSizes(
      outboundHttpEntry(
        { ...call, code: 503, responseFlags: { noHealthyUpstream: true, upstreamConnectionFailure: true } },
        peers(web, cart)
      )
    ),
    outboundHttpEntry({ ...call, protocolVersion: "HTTP2", path: "/shop.Cart/Add", grpcStatus: 14 }, peers(web, cart))
  ])
  // cart's sidecar: two calls from web (mTLS) and one from the odd workload; one TCP connection.
  await send(cart, "sidecar", [
    withSizes(inboundHttpEntry(call, peers(web, cart))),
    inboundHttpEntry(call, peers(web, cart)),
    inboundHttpEntry(call, peers(odd, cart))
  ])
  await send(cart, "sidecar", [], [inboundTcpEntry({ startMs, durationMs: 5, receivedBytes: 300, sentBytes: 4000 }, peers(web, cart))])
  await send(gateway, "router", [
    gatewayHttpEntry(call, gateway, { workload: cart, port: 8080, host: "cart.shop.svc.cluster.local" }, { ip: "203.0.113.9", port: 5555 })
  ])
  await send(waypoint, "waypoint", [
    gatewayHttpEntry(
      call,
      waypoint,
      { workload: cart, port: 8080, host: "cart.shop.svc.cluster.local" },
      { ip: web.ip, port: 41000, workload: web }
    )
  ])
  text = await (await fetch(`${app.url}/metrics/mesh`)).text()
})

afterAll(() => app?.stop())

const requests = () => samplesOf(parseExposition(text), "istio_requests_total")
const one = (match: Record<string, string>) => {
  const found = requests().filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v))
  expect(found, JSON.stringify(match)).toHaveLength(1)
  return found[0]
}

const WEB_AS_SOURCE = {
  source_workload: "web",
  source_workload_namespace: "shop",
  source_app: "web",
  source_version: "v7",
  // No canonical labels: Istio falls back to app and version.
  source_canonical_service: "web",
  source_canonical_revision: "v7",
  source_cluster: "east"
}
const CART_AS_DESTINATION = {
  destination_workload: "cart",
  destination_workload_namespace: "shop",
  destination_app: "cart",
  destination_version: "v1",
  destination_canonical_service: "cart-svc",
  destination_canonical_revision: "r2",
  destination_cluster: "Kubernetes",
  destination_service: "cart.shop.svc.cluster.local",
  destination_service_name: "cart",
  destination_service_namespace: "shop"
}

describe("Istio-standard metrics at /metrics/mesh", () => {
  it("a sidecar's client side is reporter=source with Istio's labels, flags as Envoy's short codes", () => {
    expect(one({ reporter: "source", source_workload: "web", request_protocol: "http" })).toEqual({
      name: "istio_requests_total",
      labels: {
        reporter: "source",
        ...WEB_AS_SOURCE,
        ...CART_AS_DESTINATION,
        source_principal: "unknown",
        destination_principal: "unknown",
        request_protocol: "http",
        response_code: "503",
        grpc_response_status: "",
        response_flags: "UH,UF",
        // The client's proxy cannot see the connection's security in the access log; Istio writes unknown there.
        connection_security_policy: "unknown"
      },
      value: 1
    })
    const grpc = one({ reporter: "source", source_workload: "web", request_protocol: "grpc" })
    expect(grpc.labels).toMatchObject({ response_code: "200", grpc_response_status: "14", response_flags: "-" })
  })

  it("a sidecar's server side is reporter=destination, with the mTLS principals and the Service from the authority", () => {
    const s = one({ reporter: "destination", source_workload: "web", request_protocol: "http" })
    expect(s.labels).toMatchObject({
      ...WEB_AS_SOURCE,
      ...CART_AS_DESTINATION,
      source_principal: "spiffe://cluster.local/ns/shop/sa/web-sa",
      destination_principal: "spiffe://cluster.local/ns/shop/sa/cart-sa",
      response_code: "200",
      response_flags: "-",
      connection_security_policy: "mutual_tls"
    })
    expect(s.value).toBe(2)
  })

  it("a gateway reports only its outbound hop, as source; a waypoint one series from the caller to the upstream", () => {
    const fromGateway = one({ source_workload: "istio-ingressgateway" })
    expect(fromGateway.labels).toMatchObject({ reporter: "source", destination_workload: "cart", source_canonical_revision: "latest" })
    expect(requests().filter((s) => s.labels.destination_workload === "istio-ingressgateway")).toEqual([])
    const viaWaypoint = one({ reporter: "waypoint" })
    expect(viaWaypoint.labels).toMatchObject({ ...WEB_AS_SOURCE, destination_workload: "cart", connection_security_policy: "none" })
    expect(requests().filter((s) => s.labels.source_workload === "waypoint" || s.labels.destination_workload === "waypoint")).toEqual([])
  })

  it("escapes quotes, backslashes and newlines in label values and keeps UTF-8", () => {
    expect(text).toContain('source_app="we\\"ird\\\\app\\nline ü🙂"')
    expect(one({ source_workload: "odd" }).labels.source_app).toBe('we"ird\\app\nline ü🙂')
  })

  it("histograms use Istio's buckets; sizes are headers plus body", () => {
    const samples = parseExposition(text)
    const match = { reporter: "destination", source_workload: "web", request_protocol: "http" }
    const buckets = samplesOf(samples, "istio_request_duration_milliseconds_bucket", match)
    expect(buckets.map((b) => b.labels.le)).toEqual([
      "0.5",
      "1",
      "5",
      "10",
      "25",
      "50",
      "100",
      "250",
      "500",
      "1000",
      "2500",
      "5000",
      "10000",
      "30000",
      "60000",
      "300000",
      "600000",
      "1800000",
      "3600000",
      "+Inf"
    ])
    const at = (le: string) => buckets.find((b) => b.labels.le === le)!.value
    expect([at("25"), at("50"), at("+Inf")]).toEqual([0, 2, 2])
    expect(sumOf(samples, "istio_request_duration_milliseconds_sum", match)).toBe(60)
    expect(sumOf(samples, "istio_request_duration_milliseconds_count", match)).toBe(2)
    // One of the two entries logged sizes of 100 + 20 and 60 + 2000 bytes; the other logged none (0).
    expect(sumOf(samples, "istio_request_bytes_sum", match)).toBe(120)
    expect(sumOf(samples, "istio_response_bytes_sum", match)).toBe(2060)
    expect(sumOf(samples, "istio_response_bytes_bucket", { ...match, le: "1000" })).toBe(1)
  })

  it("TCP connections: bytes each way and one connection opened and closed per entry", () => {
    const samples = parseExposition(text)
    const match = { reporter: "destination", source_workload: "web", request_protocol: "tcp" }
    expect(sumOf(samples, "istio_tcp_received_bytes_total", match)).toBe(300)
    expect(sumOf(samples, "istio_tcp_sent_bytes_total", match)).toBe(4000)
    expect(sumOf(samples, "istio_tcp_connections_opened_total", match)).toBe(1)
    expect(sumOf(samples, "istio_tcp_connections_closed_total", match)).toBe(1)
    const tcp = samplesOf(samples, "istio_tcp_sent_bytes_total", match)[0]
    expect(tcp.labels).not.toHaveProperty("response_code")
    // The simulated TCP entries carry no TLS properties.
    expect(tcp.labels.connection_security_policy).toBe("none")
  })

  it("promtool accepts the exposition (its only remark is the unit Istio's metric name carries)", () => {
    let output: string
    try {
      output = execFileSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] })
    } catch (e: any) {
      expect(e.status).toBe(3) // 3: lint remarks only; a parse error is 1
      output = `${e.stdout}${e.stderr}`
    }
    const remarks = output.split("\n").filter((l) => l.trim() !== "")
    expect(remarks).toEqual(['istio_request_duration_milliseconds use base unit "seconds" instead of "milliseconds"'])
  })

  it("answers in OpenMetrics when the scraper asks for it", async () => {
    const res = await fetch(`${app.url}/metrics/mesh`, {
      headers: { accept: "application/openmetrics-text;version=1.0.0,text/plain;q=0.5" }
    })
    expect(res.headers.get("content-type")).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8")
    const om = await res.text()
    expect(om).toContain("# TYPE istio_requests counter\n")
    expect(om).toContain("# TYPE istio_request_duration_milliseconds histogram\n")
    expect(om.endsWith("# EOF\n")).toBe(true)
    expect(parseExposition(om).filter((s) => s.name === "istio_requests_total")).toEqual(requests())
  })

  it("/metrics keeps meshsight's counters and adds the standard process and Node.js metrics", async () => {
    const own = parseExposition(await (await fetch(`${app.url}/metrics`)).text())
    const names = new Set(own.map((s) => s.name))
    for (const name of [
      "meshsight_als_messages_total",
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "process_start_time_seconds",
      "nodejs_heap_size_used_bytes",
      "nodejs_heap_size_total_bytes"
    ])
      expect(names, name).toContain(name)
    const start = own.find((s) => s.name === "process_start_time_seconds")!.value
    expect(Math.abs(start - Date.now() / 1000)).toBeLessThan(3600)
  })
})

describe("MESHSIGHT_MESH_METRICS=false", () => {
  it("turns /metrics/mesh off", async () => {
    const off = await startMeshsightAsync({ config: { MESHSIGHT_MESH_METRICS: "false" } })
    try {
      expect((await fetch(`${off.url}/metrics/mesh`)).status).toBe(404)
    } finally {
      await off.stop()
    }
  })
})
