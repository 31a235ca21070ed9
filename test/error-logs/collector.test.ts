// The `persistence` analyzer's rules: which entries become error logs (SkyWalking's envoy-als and envoy-als-tcp
// rules, plus non-OK gRPC status), what a log holds, and the per service + code/flags rate limit (TestClock).
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import type { EntrySides } from "../../src/domain/identity.ts"
import { parseNode } from "../../src/domain/node.ts"
import { type CollectOutcome, makeCollector } from "../../src/error-logs/error-logs.ts"
import { makeMemoryLogStore } from "../../src/error-logs/memory-store.ts"
import { makeEndpointNamer } from "../../src/analysis/endpoint-names.ts"
import { NO_RULES } from "../../src/analysis/endpoint-rules.ts"
import { decodeAlsMessage } from "../../src/protocol/als-codec.ts"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import {
  alsMessageJson,
  type CallPeers,
  type HttpCall,
  inboundHttpEntry,
  inboundTcpEntry,
  outboundHttpEntry,
  outboundTcpEntry,
  type Workload
} from "../../sim/istio-entries.ts"
import { workload } from "../support/ip-table-analyzer.ts"

const pod = (app: string, ip: string): Workload => ({ name: `${app}-0`, namespace: "default", ip, labels: { app }, workloadName: app })
const client = pod("productpage", "10.0.0.1")
const server = pod("reviews", "10.0.0.2")
const peers: CallPeers = { client, server, port: 9080, host: "reviews.default.svc.cluster.local" }
const START = Date.UTC(2026, 10, 25, 12, 0, 0)

const decode = (kind: "http" | "tcp", entries: ReadonlyArray<unknown>, reporter = client) => {
  const m = decodeAlsMessage(encodeAlsMessageJson(alsMessageJson({ [kind]: entries }, { workload: reporter })))
  return { node: parseNode(m.identifier!.node), entries: m.entries }
}
const known = (): EntrySides => ({ local: workload("local"), downstream: workload("caller"), upstream: workload("callee") })

/** A collector over a fresh memory store; returns what it kept, newest first, and the outcomes it reported. */
const setup = (options: { http?: boolean; tcp?: boolean; rate?: number } = {}) => {
  const store = makeMemoryLogStore({ perService: 10_000, total: 100_000, retentionMinutes: 120 })
  const outcomes: Array<CollectOutcome> = []
  const collector = makeCollector(
    { http: options.http ?? true, tcp: options.tcp ?? true, ratePerMinute: options.rate ?? 6000 },
    store,
    (o) => outcomes.push(o),
    makeEndpointNamer(NO_RULES)
  )
  const kept = (nowMs: number) => Effect.runSync(store.query({ limit: 500 }, nowMs)).logs
  return { collector, kept, outcomes }
}

const call = (c: Partial<HttpCall>): HttpCall => ({ startMs: START, durationMs: 10, ...c })

const keptOf = (kind: "http" | "tcp", entries: ReadonlyArray<unknown>, options: Parameters<typeof setup>[0] = {}) => {
  const { collector, kept } = setup(options)
  const { node, entries: decoded } = decode(kind, entries)
  collector.collect(node, decoded, decoded.map(known), START)
  return kept(START)
}

describe("which entries are kept", () => {
  it("HTTP: a response code of 400 or more, any response flag, a gRPC status other than OK", () => {
    const logs = keptOf("http", [
      outboundHttpEntry(call({ code: 200, path: "/ok" }), peers),
      outboundHttpEntry(call({ code: 302, path: "/redirect" }), peers),
      outboundHttpEntry(call({ code: 399, path: "/399" }), peers),
      outboundHttpEntry(call({ code: 400, path: "/400" }), peers),
      outboundHttpEntry(call({ code: 404, path: "/404" }), peers),
      outboundHttpEntry(call({ code: 503, path: "/uf", responseFlags: { upstreamConnectionFailure: true } }), peers),
      outboundHttpEntry(call({ code: 200, path: "/di", responseFlags: { delayInjected: true } }), peers),
      outboundHttpEntry(call({ code: 0, path: "/dc", responseFlags: { downstreamConnectionTermination: true } }), peers),
      outboundHttpEntry(call({ code: 200, path: "/grpc-ok", grpcStatus: 0, protocolVersion: "HTTP2" }), peers),
      outboundHttpEntry(call({ code: 200, path: "/grpc-unavailable", grpcStatus: 14, protocolVersion: "HTTP2" }), peers)
    ])
    expect(logs.map((l) => l.path).sort()).toEqual(["/400", "/404", "/dc", "/di", "/grpc-unavailable", "/uf"])
  })

  it("TCP: only connections with a response flag", () => {
    const tcp = { startMs: START, durationMs: 5, receivedBytes: 10, sentBytes: 20 }
    const logs = keptOf("tcp", [
      outboundTcpEntry(tcp, peers),
      outboundTcpEntry({ ...tcp, receivedBytes: 0, sentBytes: 0, responseFlags: { upstreamConnectionFailure: true } }, peers),
      inboundTcpEntry({ ...tcp, responseFlags: { upstreamConnectionTermination: true } }, peers)
    ])
    expect(logs.map((l) => [l.protocol, l.side, l.responseFlags.map((f) => f.code).join(","), l.requestBytes])).toEqual([
      ["TCP", "server", "UC", 10],
      ["TCP", "client", "UF", 0]
    ])
  })

  it("nothing for a kind whose analyzer list lacks persistence, nor for an unidentified reporter", () => {
    const failing = [outboundHttpEntry(call({ code: 500 }), peers)]
    expect(keptOf("http", failing, { http: false })).toEqual([])
    const { collector, kept } = setup()
    const { node, entries } = decode("http", failing)
    collector.collect(node, entries, [{ local: undefined, downstream: workload("caller"), upstream: workload("callee") }], START)
    expect(kept(START)).toEqual([])
  })
})

describe("what a log holds", () => {
  it("both sides, filed under the reporting service, with the peer being the other side", () => {
    const [out] = keptOf("http", [outboundHttpEntry(call({ code: 503 }), peers)])
    expect([out.service, out.instance, out.peer, out.side, out.source?.service, out.destination?.service]).toEqual([
      "local",
      "local-0",
      "callee",
      "client",
      "local",
      "callee"
    ])
    const { collector, kept } = setup()
    const { node, entries } = decode("http", [inboundHttpEntry(call({ code: 503, mtls: true }), peers)], server)
    collector.collect(node, entries, entries.map(known), START)
    const [inb] = kept(START)
    expect([inb.service, inb.peer, inb.side, inb.source?.service, inb.destination?.service, inb.tlsMode]).toEqual([
      "local",
      "caller",
      "server",
      "caller",
      "local",
      "mTLS"
    ])
  })

  it("request, response, flags with Envoy's codes and names, timings, upstream, request and trace ids", () => {
    const [log] = keptOf("http", [
      outboundHttpEntry(
        call({
          method: "POST",
          path: "/reviews/7?x=1",
          authority: "reviews:9080",
          code: 504,
          durationMs: 1000,
          responseFlags: { upstreamRequestTimeout: true },
          requestId: "6f1c3a52-9d4e-4d1f-8a55-1f0d3c1d2e3f",
          userAgent: "curl/8.5.0",
          requestHeaders: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }
        }),
        peers
      )
    ])
    expect(log).toMatchObject({
      time: START + 1000,
      startTime: START,
      protocol: "HTTP",
      endpoint: "POST:/reviews/7",
      method: "POST",
      authority: "reviews:9080",
      path: "/reviews/7?x=1",
      responseCode: 504,
      grpcStatus: null,
      responseFlags: [{ code: "UT", name: "upstream_request_timeout" }],
      latencyMs: 1000,
      upstreamCluster: "outbound|9080||reviews.default.svc.cluster.local",
      upstreamHost: "10.0.0.2:9080",
      requestId: "6f1c3a52-9d4e-4d1f-8a55-1f0d3c1d2e3f",
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      userAgent: "curl/8.5.0",
      tlsMode: "NONE"
    })
    expect(log.timings.responseEndMs).toBe(1000)
    expect(log.timings.upstreamRequestStartMs).toBeCloseTo(0.2, 6)
  })

  it("a megabyte path, authority and headers are cut to their bounds, each a string of its own", () => {
    const huge = "a".repeat(1 << 20)
    const [log] = keptOf("http", [
      outboundHttpEntry(
        call({ code: 500, path: `/${huge}`, authority: huge, userAgent: huge, requestId: huge, requestHeaders: { "x-b3-traceid": huge } }),
        peers
      )
    ])
    expect([log.path.length, log.endpoint.length, log.authority.length]).toEqual([1024, 1024, 256])
    expect([log.userAgent.length, log.requestId.length, log.traceId.length]).toEqual([256, 256, 256])
    expect(JSON.stringify(log).length).toBeLessThan(6000)
  })
})

describe("the rate limit (SkyWalking's rateLimit rpm, per service and response code or flags)", () => {
  it.effect("at most N per minute for each key; other keys and services have their own; a new minute starts over", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START)
      const { collector, kept, outcomes } = setup({ rate: 3 })
      const { node, entries } = decode("http", [
        ...Array.from({ length: 5 }, () => outboundHttpEntry(call({ code: 500, path: "/500" }), peers)),
        ...Array.from({ length: 4 }, () => outboundHttpEntry(call({ code: 404, path: "/404" }), peers)),
        ...Array.from({ length: 4 }, () =>
          outboundHttpEntry(call({ code: 503, path: "/uf", responseFlags: { upstreamConnectionFailure: true } }), peers)
        )
      ])
      const sidesOf = (service: string) =>
        entries.map((): EntrySides => ({ local: workload(service), downstream: undefined, upstream: workload("callee") }))
      const collect = (service: string) =>
        Effect.gen(function* () {
          collector.collect(node, entries, sidesOf(service), yield* Clock.currentTimeMillis)
        })
      yield* collect("a")
      yield* collect("b")
      const now = yield* Clock.currentTimeMillis
      const count = (service: string, path: string) => kept(now).filter((l) => l.service === service && l.path === path).length
      expect([count("a", "/500"), count("a", "/404"), count("a", "/uf"), count("b", "/500")]).toEqual([3, 3, 3, 3])
      expect(outcomes.map((o) => [o.kept, o.rateLimited])).toEqual([
        [9, 4],
        [9, 4]
      ])
      // Later in the same minute: all refused.
      yield* TestClock.adjust("59 seconds")
      yield* collect("a")
      expect(outcomes[2]).toStrictEqual({ kept: 0, rateLimited: 13, evicted: 0 })
      // The next minute of the clock: the counts start over.
      yield* TestClock.adjust("1 second")
      yield* collect("a")
      expect(outcomes[3]).toStrictEqual({ kept: 9, rateLimited: 4, evicted: 0 })
    })
  )
})
