// The embedded error-log store's bounds: per service, in all, retention; and a flood of failures with megabyte-ish
// paths held within the caps, memory measured (the figure is printed for docs/error-logs.md).
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { EntrySides } from "../../src/domain/identity.ts"
import { parseNode } from "../../src/domain/node.ts"
import type { ErrorLog } from "../../src/error-logs/error-log.ts"
import type { NewErrorLog } from "../../src/error-logs/error-log-store.ts"
import { makeCollector } from "../../src/error-logs/error-logs.ts"
import { makeMemoryLogStore } from "../../src/error-logs/memory-store.ts"
import { makeEndpointNamer } from "../../src/analysis/endpoint-names.ts"
import { NO_RULES } from "../../src/analysis/endpoint-rules.ts"
import { decodeAlsMessage } from "../../src/protocol/als-codec.ts"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, outboundHttpEntry, type Workload } from "../../sim/istio-entries.ts"
import { workload } from "../support/ip-table-analyzer.ts"

const NOW = Date.UTC(2026, 10, 25, 12, 0)

const log = (service: string, n: number, time = NOW): NewErrorLog => ({
  time,
  startTime: time,
  service,
  instance: `${service}-0`,
  peer: null,
  role: "sidecar",
  side: "client",
  source: null,
  destination: null,
  protocol: "HTTP",
  endpoint: "GET:/",
  method: "GET",
  authority: "",
  path: `/${n}`,
  responseCode: 500,
  grpcStatus: null,
  responseCodeDetails: "",
  responseFlags: [],
  latencyMs: 1,
  timings: {
    requestReceivedMs: null,
    upstreamRequestStartMs: null,
    upstreamResponseStartMs: null,
    upstreamResponseEndMs: null,
    responseStartMs: null,
    responseEndMs: null
  },
  upstreamCluster: "",
  upstreamHost: "",
  requestId: String(n),
  traceId: "",
  userAgent: "",
  tlsMode: "NONE",
  requestBytes: 0,
  responseBytes: 0
})

const all = (store: ReturnType<typeof makeMemoryLogStore>, nowMs = NOW, service?: string): ReadonlyArray<ErrorLog> =>
  Effect.runSync(store.query({ limit: 500, service }, nowMs)).logs

describe("the in-memory error-log store", () => {
  it("keeps the newest logs of each service up to its cap, and evicts the oldest overall past the total", () => {
    const store = makeMemoryLogStore({ perService: 10, total: 15, retentionMinutes: 60 })
    expect(
      store.add(
        Array.from({ length: 14 }, (_, i) => log("a", i, NOW + i)),
        NOW
      )
    ).toBe(4)
    expect(all(store).map((l) => l.requestId)).toEqual(["13", "12", "11", "10", "9", "8", "7", "6", "5", "4"])
    // b's ten push the total to 20: a's five oldest go.
    expect(
      store.add(
        Array.from({ length: 10 }, (_, i) => log("b", 100 + i, NOW + 100 + i)),
        NOW
      )
    ).toBe(5)
    expect(store.size()).toBe(15)
    expect(all(store, NOW, "a").map((l) => l.requestId)).toEqual(["13", "12", "11", "10", "9"])
    expect(all(store, NOW, "b")).toHaveLength(10)
  })

  it("forgets logs past the retention (MESHSIGHT_RETENTION_MINUTES)", () => {
    const store = makeMemoryLogStore({ perService: 10, total: 100, retentionMinutes: 2 })
    store.add([log("a", 1, NOW), log("a", 2, NOW + 60_000)], NOW + 60_000)
    expect(all(store, NOW + 2 * 60_000 + 1).map((l) => l.requestId)).toEqual(["2"])
    expect(store.size()).toBe(1)
    expect(all(store, NOW + 3 * 60_000 + 1)).toEqual([])
  })

  it("a flood of failures with 64 KiB paths stays within the caps, holding only the bounded strings", () => {
    setFlagsFromString("--expose-gc")
    const gc = runInNewContext("gc") as () => void
    const client: Workload = { name: "a-0", namespace: "default", ip: "10.0.0.1", labels: { app: "a" }, workloadName: "a" }
    const server: Workload = { ...client, name: "b-0", ip: "10.0.0.2", labels: { app: "b" }, workloadName: "b" }
    const peers = { client, server, port: 80, host: "b.default.svc.cluster.local" }
    const big = "p".repeat(64 * 1024)
    const bytes = encodeAlsMessageJson(
      alsMessageJson(
        {
          http: Array.from({ length: 100 }, (_, i) =>
            outboundHttpEntry(
              { startMs: NOW, durationMs: 1, code: 500, path: `/${i}/${big}`, userAgent: big, requestId: `${i}-${big}` },
              peers
            )
          )
        },
        { workload: client }
      )
    )
    const store = makeMemoryLogStore({ perService: 1000, total: 20_000, retentionMinutes: 120 })
    const collector = makeCollector({ http: true, tcp: false, ratePerMinute: 10_000_000 }, store, () => {}, makeEndpointNamer(NO_RULES))
    gc()
    const before = process.memoryUsage().heapUsed
    for (let round = 0; round < 250; round++) {
      const m = decodeAlsMessage(bytes)
      const sides = m.entries.map(
        (_, i): EntrySides => ({ local: workload(`svc-${(round * 100 + i) % 50}`), downstream: undefined, upstream: undefined })
      )
      collector.collect(parseNode(m.identifier!.node), m.entries, sides, NOW)
    }
    gc()
    const held = process.memoryUsage().heapUsed - before
    expect(store.size()).toBe(20_000)
    const perLog = held / store.size()
    console.log(
      `error-log flood: 25000 failures with 64 KiB paths → ${store.size()} logs held, ${(held / 2 ** 20).toFixed(1)} MiB heap, ${Math.round(perLog)} B per log`
    )
    // A log holds a 1 KiB path and three 256-byte headers (~3 KiB as JSON); were the 64 KiB originals kept alive,
    // this would be over 128 KiB per log.
    expect(perLog).toBeLessThan(8 * 1024)
    expect(all(store)[0].path.length).toBe(1024)
  })
})
