// The analysis rules of docs/design.md §3, one by one, on entries built as Istio's proxies log them.
import { describe, expect, it } from "vitest"
import { analyze, type AnalysisMisses } from "../../src/analysis/analyze.ts"
import { makeEndpointNamer } from "../../src/analysis/endpoint-names.ts"
import { NO_RULES } from "../../src/analysis/endpoint-rules.ts"
import type { AccessLog } from "../../src/domain/access-log.ts"
import { emptySides, type EntrySides } from "../../src/domain/identity.ts"
import { parseNode, type ReportingNode } from "../../src/domain/node.ts"
import { decodeAlsMessage } from "../../src/protocol/als-codec.ts"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import {
  alsMessageJson,
  type CallPeers,
  gatewayHttpEntry,
  type HttpCall,
  inboundHttpEntry,
  inboundTcpEntry,
  outboundHttpEntry,
  type Role,
  type Workload
} from "../../sim/istio-entries.ts"
import { workload } from "../support/ip-table-analyzer.ts"

const pod = (app: string, ip: string): Workload => ({ name: `${app}-0`, namespace: "default", ip, labels: { app }, workloadName: app })
const client = pod("productpage", "10.0.0.1")
const server = pod("reviews", "10.0.0.2")
const peers: CallPeers = { client, server, port: 9080, host: "reviews.default.svc.cluster.local" }
const START = Date.UTC(2026, 10, 25, 12, 0, 0)

const decode = (entries: ReadonlyArray<unknown>, kind: "http" | "tcp" = "http", reporter = client, role: Role = "sidecar") => {
  const message = decodeAlsMessage(encodeAlsMessageJson(alsMessageJson({ [kind]: entries }, { workload: reporter, role })))
  return { node: parseNode(message.identifier!.node), entries: message.entries }
}

const known = (): EntrySides => ({ local: workload("local"), downstream: workload("caller"), upstream: workload("callee") })

const run = (node: ReportingNode, entries: ReadonlyArray<AccessLog>, sides = entries.map(known)) => {
  const misses: AnalysisMisses = { local: 0, source: 0, destination: 0 }
  return { records: analyze(node, entries, sides, misses, makeEndpointNamer(NO_RULES)), misses }
}

const outbound = (call: Partial<HttpCall>) => {
  const { node, entries } = decode([outboundHttpEntry({ startMs: START, durationMs: 10, ...call }, peers)])
  return run(node, entries).records[0]
}
const inbound = (call: Partial<HttpCall>) => {
  const { node, entries } = decode([inboundHttpEntry({ startMs: START, durationMs: 10, ...call }, peers)], "http", server)
  return run(node, entries).records[0]
}

describe("detect point and sides", () => {
  it("an outbound sidecar entry is the client side: local → upstream peer", () => {
    const r = outbound({})
    expect([r.detectPoint, r.source?.service, r.destination.service]).toEqual(["client", "local", "callee"])
  })

  it("an inbound sidecar entry is the server side: downstream peer → local", () => {
    const r = inbound({})
    expect([r.detectPoint, r.source?.service, r.destination.service]).toEqual(["server", "caller", "local"])
  })

  it("a gateway or waypoint entry yields a server-side and a client-side record", () => {
    for (const role of ["router", "waypoint"] as const) {
      const gw = pod("ingressgateway", "10.0.0.9")
      const { node, entries } = decode(
        [
          gatewayHttpEntry(
            { startMs: START, durationMs: 10 },
            gw,
            { workload: server, port: 9080, host: peers.host },
            { ip: "1.2.3.4", port: 5555 }
          )
        ],
        "http",
        gw,
        role
      )
      const { records } = run(node, entries)
      expect(records.map((r) => [r.role, r.detectPoint, r.source?.service, r.destination.service])).toEqual([
        [node.role, "server", "caller", "local"],
        [node.role, "client", "local", "callee"]
      ])
    }
  })

  it("a gateway's unknown caller is the service UNKNOWN; a sidecar's unknown caller gives no source", () => {
    const gw = pod("ingressgateway", "10.0.0.9")
    const g = decode(
      [
        gatewayHttpEntry(
          { startMs: START, durationMs: 10 },
          gw,
          { workload: server, port: 9080, host: peers.host },
          { ip: "1.2.3.4", port: 5555 }
        )
      ],
      "http",
      gw,
      "router"
    )
    const gateway = run(g.node, g.entries, [{ ...known(), downstream: undefined }])
    expect(gateway.records[0].source?.service).toBe("UNKNOWN")
    expect(gateway.misses.source).toBe(1)
    const s = decode([inboundHttpEntry({ startMs: START, durationMs: 10 }, peers)], "http", server)
    const sidecar = run(s.node, s.entries, [{ ...known(), downstream: undefined }])
    expect(sidecar.records).toHaveLength(1)
    expect(sidecar.records[0].source).toBeUndefined()
  })

  it("an unknown callee drops the client-side record; an unknown local workload drops the entry", () => {
    const { node, entries } = decode([outboundHttpEntry({ startMs: START, durationMs: 10 }, peers)])
    expect(run(node, entries, [{ ...known(), upstream: undefined }])).toEqual({
      records: [],
      misses: { local: 0, source: 0, destination: 1 }
    })
    expect(run(node, entries, [emptySides()])).toEqual({ records: [], misses: { local: 1, source: 0, destination: 0 } })
  })
})

describe("response code and success", () => {
  it("a missing response code counts as 200", () => {
    // Envoy logs no response code when the upstream never answered.
    const { node, entries } = decode([{ ...outboundHttpEntry({ startMs: START, durationMs: 10 }, peers), response: {} }])
    expect(run(node, entries).records[0].responseCode).toBe(200)
  })

  it("the server side fails from 500, the client side from 400", () => {
    expect([inbound({ code: 499 }).success, inbound({ code: 500 }).success]).toEqual([true, false])
    expect([outbound({ code: 399 }).success, outbound({ code: 404 }).success]).toEqual([true, false])
  })
})

describe("protocol", () => {
  it("HTTP by default, gRPC for an HTTP/2 /package.Service/Method path or a grpc-status trailer", () => {
    expect(outbound({ path: "/api/v1/books" }).protocol).toBe("HTTP")
    expect(outbound({ protocolVersion: "HTTP2", path: "/bookinfo.Ratings/Get" }).protocol).toBe("gRPC")
    expect(outbound({ protocolVersion: "HTTP11", path: "/bookinfo.Ratings/Get" }).protocol).toBe("HTTP")
    expect(outbound({ grpcStatus: 0 }).protocol).toBe("gRPC")
  })

  it("a non-zero grpc-status is a failure even with HTTP 200", () => {
    const r = outbound({ protocolVersion: "HTTP2", path: "/bookinfo.Ratings/Get", code: 200, grpcStatus: 14 })
    expect([r.protocol, r.responseCode, r.success]).toEqual(["gRPC", 200, false])
  })

  it("TCP entries carry received and sent bytes, no endpoint", () => {
    const { node, entries } = decode(
      [inboundTcpEntry({ startMs: START, durationMs: 5000, receivedBytes: 1234, sentBytes: 99 }, peers)],
      "tcp",
      server
    )
    const r = run(node, entries).records[0]
    expect([r.protocol, r.receivedBytes, r.sentBytes, r.endpoint, r.success]).toEqual(["TCP", 1234, 99, "", true])
  })
})

describe("endpoint, latency, TLS and flags", () => {
  it("endpoint is METHOD:path without the query string", () => {
    expect(inbound({ method: "POST", path: "/reviews/1?user=2" }).endpoint).toBe("POST:/reviews/1")
  })

  it("an entry with no request has the endpoint /", () => {
    const { node, entries } = decode(
      [{ ...inboundHttpEntry({ startMs: START, durationMs: 10 }, peers), request: undefined }],
      "http",
      server
    )
    expect(run(node, entries).records[0].endpoint).toBe("/")
  })

  it("latency is at least 1 ms", () => {
    expect(inbound({ durationMs: 0.4 }).latencyMs).toBe(1)
  })

  it("TLS mode NONE without a local certificate, mTLS with both sides'", () => {
    expect(inbound({}).tlsMode).toBe("NONE")
    expect(inbound({ mtls: true }).tlsMode).toBe("mTLS")
  })

  it("the internal error code is the first response flag set", () => {
    const r = outbound({ code: 503, responseFlags: { upstreamConnectionFailure: true, noHealthyUpstream: true } })
    expect(r.internalErrorCode).toBe("no_healthy_upstream")
    expect(outbound({}).internalErrorCode).toBe("")
  })
})
