// End to end: simulated Istio traffic with known failures sent over real gRPC into an in-process meshsight (mx-mesh
// + persistence, virtual time), then read back from GET /api/logs: exactly the failures, up to the rate limit.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import {
  alsMessageJson,
  type CallPeers,
  type HttpCall,
  inboundHttpEntry,
  outboundHttpEntry,
  outboundTcpEntry,
  type Workload
} from "../../sim/istio-entries.ts"
import { sendAlsMessages } from "../support/als-client.ts"
import { metricValue } from "../../testkit/meshsight-process.ts"
import { startMeshsight } from "../support/meshsight.ts"
import { api } from "../support/replayed-fixtures.ts"

const pod = (app: string, ip: string): Workload => ({ name: `${app}-0`, namespace: "default", ip, labels: { app }, workloadName: app })
const productpage = pod("productpage", "10.0.0.1")
const reviews = pod("reviews", "10.0.0.2")
const ratings = pod("ratings", "10.0.0.3")
const toReviews: CallPeers = { client: productpage, server: reviews, port: 9080, host: "reviews.default.svc.cluster.local" }
const toRatings: CallPeers = { client: reviews, server: ratings, port: 9080, host: "ratings.default.svc.cluster.local" }

const MINUTE = Date.UTC(2026, 10, 25, 12, 0)
const NOW = MINUTE + 50_000
const RATE = 4

let at = 0
/** Each call 10 ms after the previous one, so newest first is a known order. */
const call = (requestId: string, c: Partial<HttpCall>): HttpCall => ({
  startMs: MINUTE + 1_000 + 10 * at++,
  durationMs: 5,
  requestId,
  path: "/reviews/1",
  ...c
})

const send = (port: number, reporter: Workload, kind: "http" | "tcp", entries: ReadonlyArray<unknown>) =>
  Effect.promise(() => sendAlsMessages(port, [encodeAlsMessageJson(alsMessageJson({ [kind]: entries }, { workload: reporter }))]))

/** productpage's failures: 404 ×2, 500 ×6 (RATE kept), UF ×1, gRPC UNAVAILABLE ×1, between successes. */
const productpageEntries = () => [
  outboundHttpEntry(call("ok-1", {}), toReviews),
  outboundHttpEntry(call("nf-1", { code: 404 }), toReviews),
  outboundHttpEntry(call("nf-2", { code: 404, path: "/reviews/2" }), toReviews),
  ...Array.from({ length: 6 }, (_, i) => outboundHttpEntry(call(`err-${i + 1}`, { code: 500 }), toReviews)),
  outboundHttpEntry(call("ok-2", {}), toReviews),
  outboundHttpEntry(call("uf-1", { code: 503, responseFlags: { upstreamConnectionFailure: true } }), toReviews),
  outboundHttpEntry(call("grpc-1", { code: 200, grpcStatus: 14, protocolVersion: "HTTP2" }), toReviews)
]
const reviewsEntries = () => [
  inboundHttpEntry(call("in-1", { code: 500, mtls: true }), toReviews),
  inboundHttpEntry(call("in-ok", { mtls: true }), toReviews),
  inboundHttpEntry(call("in-2", { code: 500, mtls: true }), toReviews)
]
const tcp = { durationMs: 3, receivedBytes: 100, sentBytes: 50 }

const EXPECTED_NEWEST_FIRST = [
  // reviews' TCP failure was sent last (start time after every HTTP call)
  "tcp",
  "in-2",
  "in-1",
  "grpc-1",
  "uf-1",
  "err-4",
  "err-3",
  "err-2",
  "err-1",
  "nf-2",
  "nf-1"
]

const startWithTraffic = (analyzers: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    at = 0
    yield* TestClock.setTime(NOW)
    const app = yield* startMeshsight({
      config: {
        MESHSIGHT_HTTP_ANALYZERS: String(analyzers),
        MESHSIGHT_TCP_ANALYZERS: String(analyzers),
        MESHSIGHT_ERROR_LOG_RATE_PER_MINUTE: String(RATE)
      }
    })
    yield* send(app.alsPort, productpage, "http", productpageEntries())
    yield* send(app.alsPort, reviews, "http", reviewsEntries())
    yield* send(app.alsPort, reviews, "tcp", [
      outboundTcpEntry({ ...tcp, startMs: MINUTE + 1_000 + 10 * at++ }, toRatings),
      outboundTcpEntry({ ...tcp, startMs: MINUTE + 1_000 + 10 * at++, responseFlags: { upstreamConnectionFailure: true } }, toRatings)
    ])
    return app
  })

const idOf = (l: any) => (l.protocol === "TCP" ? "tcp" : l.requestId)

describe("GET /api/logs", () => {
  it.effect("returns exactly the failed requests, newest first, up to the rate limit per service and code", () =>
    Effect.gen(function* () {
      const app = yield* startWithTraffic(["mx-mesh", "persistence"])
      const { status, body } = yield* api(app.url, "/api/logs?limit=500")
      expect(status).toBe(200)
      expect(body.logs.map(idOf)).toStrictEqual(EXPECTED_NEWEST_FIRST)
      expect(body.cursor).toBe(null)
      const uf = body.logs.find((l: any) => l.requestId === "uf-1")
      expect([uf.service, uf.instance, uf.peer, uf.side, uf.responseCode, uf.responseFlags, uf.upstreamHost]).toStrictEqual([
        "productpage.default",
        "productpage-0",
        "reviews.default",
        "client",
        503,
        [{ code: "UF", name: "upstream_connection_failure" }],
        "10.0.0.2:9080"
      ])
      const metrics = yield* Effect.promise(() => fetch(`${app.url}/metrics`).then((r) => r.text()))
      expect(metricValue(metrics, "meshsight_error_logs_total")).toBe(11)
      expect(metricValue(metrics, 'meshsight_error_logs_dropped_total{reason="rate_limited"}')).toBe(2)
    })
  )

  it.effect("filters by the reporting service, the peer, instance, endpoint, code and time; pages with a cursor", () =>
    Effect.gen(function* () {
      const app = yield* startWithTraffic(["mx-mesh", "persistence"])
      const ids = (query: string) => Effect.map(api(app.url, `/api/logs?${query}`), (r) => r.body.logs.map(idOf))
      expect(yield* ids("service=reviews.default")).toStrictEqual(["tcp", "in-2", "in-1"])
      expect(yield* ids("peer=productpage.default")).toStrictEqual(["in-2", "in-1"])
      expect(yield* ids("peer=ratings.default")).toStrictEqual(["tcp"])
      expect(yield* ids("service=productpage.default&code=404")).toStrictEqual(["nf-2", "nf-1"])
      expect(yield* ids("endpoint=GET:/reviews/2")).toStrictEqual(["nf-2"])
      expect(yield* ids("instance=reviews-0&code=500")).toStrictEqual(["in-2", "in-1"])
      const grpc = (yield* api(app.url, "/api/logs?service=productpage.default&limit=1")).body.logs[0]
      const t = (yield* api(app.url, "/api/logs?code=404")).body.logs[1].time // nf-1
      expect(yield* ids(`start=${t}&end=${t + 1}`)).toStrictEqual(["nf-1"])
      expect(grpc.requestId).toBe("grpc-1")
      // Pages of 3 walk the same list, without repeats.
      const walked: Array<string> = []
      let cursor: string | null = ""
      while (cursor !== null) {
        const page: any = (yield* api(app.url, `/api/logs?limit=3${cursor === "" ? "" : `&cursor=${cursor}`}`)).body
        expect(page.logs.length).toBeLessThanOrEqual(3)
        walked.push(...page.logs.map(idOf))
        cursor = page.cursor
      }
      expect(walked).toStrictEqual(EXPECTED_NEWEST_FIRST)
      for (const bad of ["cursor=nonsense", "limit=0", "limit=501", "code=abc", "start=-1"]) {
        const r = yield* api(app.url, `/api/logs?${bad}`)
        expect(r.status, bad).toBe(400)
        expect(r.body.error).toBeTypeOf("string")
      }
    })
  )

  it.effect("1 MiB paths and headers over gRPC come back cut to their bounds", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const app = yield* startMeshsight({ config: { MESHSIGHT_HTTP_ANALYZERS: "mx-mesh,persistence" } })
      const mib = "x".repeat(1 << 20)
      const status = yield* send(app.alsPort, productpage, "http", [
        outboundHttpEntry(
          call(mib, { code: 500, path: `/${mib}`, authority: mib, userAgent: mib, requestHeaders: { traceparent: `00-${mib}-01` } }),
          toReviews
        )
      ])
      expect(status).toStrictEqual({ code: 0, details: "" })
      const { body } = yield* api(app.url, "/api/logs")
      const [log] = body.logs
      expect([
        log.path.length,
        log.endpoint.length,
        log.authority.length,
        log.userAgent.length,
        log.requestId.length,
        log.traceId.length
      ]).toStrictEqual([1024, 1024, 256, 256, 256, 253])
      expect(JSON.stringify(log).length).toBeLessThan(4096)
    })
  )

  it.effect("without persistence in the analyzer lists nothing is kept", () =>
    Effect.gen(function* () {
      const app = yield* startWithTraffic(["mx-mesh"])
      expect((yield* api(app.url, "/api/logs")).body).toStrictEqual({ logs: [], cursor: null })
      yield* TestClock.adjust("1 second") // the aggregator's flush beat
      const topology = (yield* api(app.url, `/api/topology?start=${MINUTE}&end=${MINUTE + 60_000}`)).body
      expect(topology.edges.length).toBeGreaterThan(0) // the metrics still came through
    })
  )

  it.effect("reads a request id only while error logs are kept: one that is not UTF-8 rejects its entry then alone", () =>
    Effect.gen(function* () {
      const placeholder = "REQUEST-ID-PLACEHOLDER"
      const entries = [outboundHttpEntry(call("ok-1", {}), toReviews), outboundHttpEntry(call(placeholder, { code: 500 }), toReviews)]
      const bytes = encodeAlsMessageJson(alsMessageJson({ http: entries }, { workload: productpage }))
      // A 2-byte UTF-8 lead byte followed by no continuation byte: not a string.
      const at = Buffer.from(bytes).indexOf(placeholder)
      expect(at).toBeGreaterThan(0)
      bytes[at + 1] = 0xc3
      // The counters are the process's, shared with the other tests here: their rise is this message's.
      const counters = (url: string) =>
        Effect.promise(() => fetch(`${url}/metrics`).then((r) => r.text())).pipe(
          Effect.map((text) => [
            metricValue(text, 'meshsight_als_entries_total{kind="http"}'),
            metricValue(text, "meshsight_als_entry_decode_failures_total")
          ])
        )
      const outcome = (analyzers: string) =>
        Effect.scoped(
          Effect.gen(function* () {
            yield* TestClock.setTime(NOW)
            const app = yield* startMeshsight({ config: { MESHSIGHT_HTTP_ANALYZERS: analyzers } })
            const before = yield* counters(app.url)
            expect(yield* Effect.promise(() => sendAlsMessages(app.alsPort, [bytes]))).toStrictEqual({ code: 0, details: "" })
            const after = yield* counters(app.url)
            const logs = (yield* api(app.url, "/api/logs")).body.logs
            return { decoded: after[0] - before[0], rejected: after[1] - before[1], logs: logs.length }
          })
        )
      // Kept: the request id is read and its entry rejected, so that failure is not logged either.
      expect(yield* outcome("mx-mesh,persistence")).toStrictEqual({ decoded: 1, rejected: 1, logs: 0 })
      // Not kept: the request id is skipped unread, and both entries count.
      expect(yield* outcome("mx-mesh")).toStrictEqual({ decoded: 2, rejected: 0, logs: 0 })
    })
  )
})
