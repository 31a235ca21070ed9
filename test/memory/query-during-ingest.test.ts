// The largest query while ingest goes on, against a real meshsight process: a service with 100 000 endpoints (the
// issue's 500 000 scaled down for a loaded 2-core machine: sending them takes most of the test) is paged, and
// /healthz, the gRPC health check and a healthy ALS stream keep answering within 100 ms at the 99th percentile.
import * as grpc from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, inboundHttpEntry, type Workload } from "../../sim/istio-entries.ts"
import { MINUTE_MS, minuteOf } from "../../src/domain/minute.ts"
import { openAlsStream, sendAlsMessages } from "../support/als-client.ts"
import { getJson } from "../support/http-json.ts"
import { waitFor } from "../support/wait-for.ts"
import { type MeshsightProcess, spawnMeshsight } from "../../testkit/meshsight-process.ts"

const ENDPOINTS = 100_000

const workload = (app: string): Workload => ({ name: `${app}-0`, namespace: "shop", ip: "10.9.0.2", labels: { app }, workloadName: app })
const web = workload("web")
const inbound = (server: Workload, calls: ReadonlyArray<{ startMs: number; path?: string }>, withNode: boolean) =>
  encodeAlsMessageJson(
    alsMessageJson(
      {
        http: calls.map((c) =>
          inboundHttpEntry(
            { startMs: c.startMs, durationMs: 5, path: c.path ?? "/" },
            { client: web, server, port: 8080, host: "x.shop.svc.cluster.local" }
          )
        )
      },
      withNode ? { workload: server } : undefined
    )
  )

const raw = (b: Buffer) => b
const HealthClient = grpc.makeGenericClientConstructor(
  {
    Check: {
      path: "/grpc.health.v1.Health/Check",
      requestStream: false,
      responseStream: false,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw
    }
  },
  "Health"
)

const p99 = (samples: ReadonlyArray<number>) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length * 0.99)]

/** Calls `probe` every 20 ms until `stop` is set; returns each call's latency in ms. */
const sample = (probe: () => Promise<unknown>, running: () => boolean) =>
  (async () => {
    const latencies: Array<number> = []
    while (running()) {
      const t = performance.now()
      await probe()
      latencies.push(performance.now() - t)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return latencies
  })()

describe("queries during ingest", () => {
  let ms: MeshsightProcess
  const minute = minuteOf(Date.now())
  const range = `start=${minute}&end=${minute + MINUTE_MS}`

  beforeAll(async () => {
    ms = await spawnMeshsight({ MESHSIGHT_MAX_ENDPOINTS_PER_SERVICE: String(ENDPOINTS * 2), MESHSIGHT_FLUSH_INTERVAL_MS: "200" })
    const big = workload("big")
    const messages = Array.from({ length: ENDPOINTS / 100 }, (_, m) =>
      inbound(
        big,
        Array.from({ length: 100 }, (_, i) => ({ startMs: minute + 1000, path: `/item/${m}/${i}` })),
        m === 0
      )
    )
    expect((await sendAlsMessages(ms.grpcPort, messages)).code).toBe(grpc.status.OK)
    // A flush drains every pending series at once: when the service counts every call, each endpoint is stored too.
    await waitFor(
      "every call stored",
      () => callsOf("big.shop"),
      (calls) => calls === ENDPOINTS,
      30_000
    )
  }, 180_000)

  afterAll(() => ms?.stop())

  const callsOf = async (service: string): Promise<number | undefined> =>
    (await getJson(ms.url, `/api/services?${range}`)).body.services.find((s: { name: string }) => s.name === service)?.metrics?.calls

  it("paging 100 000 endpoints keeps /healthz, gRPC health and ALS ingest within 100 ms (p99)", async () => {
    let running = true
    const health = new HealthClient(`127.0.0.1:${ms.grpcPort}`, grpc.credentials.createInsecure())
    // Connected before measuring: the first call's connection set-up is not the server's latency.
    await new Promise((resolve) => health.Check(Buffer.alloc(0), resolve))
    const steady = workload("steady")
    const stream = openAlsStream(ms.grpcPort)
    await stream.write(inbound(steady, [{ startMs: minute + 2000 }], true))
    let steadySent = 1
    const probes = [
      sample(
        () => fetch(`${ms.url}/healthz`).then((r) => r.text()),
        () => running
      ),
      sample(
        () => new Promise((resolve) => health.Check(Buffer.alloc(0), resolve)),
        () => running
      ),
      sample(
        async () => {
          await stream.write(inbound(steady, [{ startMs: minute + 2000 }], false))
          steadySent++
        },
        () => running
      )
    ]
    // The largest queries, one after another: the first pages of the endpoints (each walks every series), then
    // the services and the topology.
    let cursor: string | null = null
    let seen = 0
    const started = performance.now()
    for (let page = 0; page < 10; page++) {
      const { status, body } = await getJson(
        ms.url,
        `/api/services/big.shop/endpoints?${range}&limit=1000${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`
      )
      expect(status).toBe(200)
      expect(body.endpoints.length).toBe(1000)
      seen += body.endpoints.length
      cursor = body.nextCursor
      expect(cursor).not.toBeNull()
    }
    expect((await getJson(ms.url, `/api/services?${range}`)).status).toBe(200)
    expect((await getJson(ms.url, `/api/topology?${range}`)).status).toBe(200)
    const queryMs = performance.now() - started
    running = false
    const [healthz, grpcHealth, ingest] = await Promise.all(probes)
    health.close()
    expect(await stream.end()).toEqual({ code: grpc.status.OK, details: "" })
    stream.close()
    expect(seen).toBe(10_000)
    const report =
      `queries ${Math.round(queryMs)} ms; p99 /healthz ${p99(healthz).toFixed(1)} ms (${healthz.length} samples), ` +
      `gRPC health ${p99(grpcHealth).toFixed(1)} ms, ALS write ${p99(ingest).toFixed(1)} ms`
    console.log(report)
    expect(p99(healthz), report).toBeLessThan(100)
    expect(p99(grpcHealth), report).toBeLessThan(100)
    expect(p99(ingest), report).toBeLessThan(100)
    // Every entry of the healthy stream was counted (once the next flush has stored the last ones).
    await waitFor(
      "every steady call stored",
      () => callsOf("steady.shop"),
      (calls) => calls === steadySent
    )
  }, 120_000)
})
