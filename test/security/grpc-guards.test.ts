// The gRPC port's call guards with a real grpc-js client: the ALS bearer token (MESHSIGHT_ALS_TOKEN_FILE), the cap
// on calls open at once (MESHSIGHT_GRPC_MAX_STREAMS) and per connection, each refusal counted in /metrics; the
// health service stays open.
import * as grpc from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { openAlsStream, sendAlsMessages } from "../support/als-client.ts"
import { metricValue } from "../../testkit/meshsight-process.ts"
import { startMeshsightAsync } from "../support/meshsight.ts"
import { meshMessages } from "../ui/support/mesh-traffic.ts"

const message = () => meshMessages([{ from: "a.default", to: "b.default", count: 1, latencyMs: 3 }])[0]!
const OK = { code: grpc.status.OK, details: "" }

const HealthClient = grpc.makeGenericClientConstructor(
  {
    Check: {
      path: "/grpc.health.v1.Health/Check",
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b
    }
  },
  "Health"
)

const metrics = async (url: string) => (await fetch(`${url}/metrics`)).text()
/** Metrics live for the process, across the apps these tests start: compare before and after. */
const counter = async (url: string, series: string) => metricValue(await metrics(url), series)
const UNAUTHENTICATED = 'meshsight_grpc_calls_refused_total{reason="unauthenticated"}'
const TOO_MANY = 'meshsight_grpc_calls_refused_total{reason="too_many_streams"}'
const STREAMS = "meshsight_als_streams_total"

describe("gRPC call guards", () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "meshsight-als-token-"))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("with MESHSIGHT_ALS_TOKEN_FILE, ALS calls without the bearer token are UNAUTHENTICATED and counted; health stays open", async () => {
    const tokenFile = join(dir, "als-tokens")
    writeFileSync(tokenFile, "envoy-secret\n")
    const app = await startMeshsightAsync({ config: { MESHSIGHT_ALS_TOKEN_FILE: tokenFile } })
    try {
      const [refusedBefore, streamsBefore] = [await counter(app.url, UNAUTHENTICATED), await counter(app.url, STREAMS)]
      expect(await sendAlsMessages(app.alsPort, [message()], "v3", { token: "envoy-secret" })).toStrictEqual(OK)
      expect(await sendAlsMessages(app.alsPort, [message()], "v2", { token: "envoy-secret" })).toStrictEqual(OK)
      const missing = await sendAlsMessages(app.alsPort, [message()])
      expect(missing.code).toBe(grpc.status.UNAUTHENTICATED)
      expect(missing.details).toContain("Bearer")
      expect((await sendAlsMessages(app.alsPort, [message()], "v3", { token: "envoy-secre" })).code).toBe(grpc.status.UNAUTHENTICATED)
      expect((await counter(app.url, UNAUTHENTICATED)) - refusedBefore).toBe(2)
      expect((await counter(app.url, STREAMS)) - streamsBefore).toBe(2)

      const health = new HealthClient(`127.0.0.1:${app.grpcPort}`, grpc.credentials.createInsecure()) as any
      const code = await new Promise<number>((resolve) =>
        health.Check(Buffer.alloc(0), (err: grpc.ServiceError | null) => resolve(err?.code ?? 0))
      )
      health.close()
      expect(code).toBe(grpc.status.OK)
    } finally {
      await app.stop()
    }
  })

  it("beyond MESHSIGHT_GRPC_MAX_STREAMS calls open at once, a new one is RESOURCE_EXHAUSTED (counted) until one ends", async () => {
    const app = await startMeshsightAsync({ config: { MESHSIGHT_GRPC_MAX_STREAMS: "2" } })
    try {
      const refusedBefore = await counter(app.url, TOO_MANY)
      const first = openAlsStream(app.alsPort)
      const second = openAlsStream(app.alsPort)
      await first.write(message())
      await second.write(message())
      const third = await sendAlsMessages(app.alsPort, [message()])
      expect(third.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
      expect(third.details).toContain("MESHSIGHT_GRPC_MAX_STREAMS")
      expect(await first.end()).toStrictEqual(OK)
      first.close()
      // A cancelled call frees its place too.
      second.cancel()
      await second.status
      second.close()
      // For the server to see the cancel: no metric shows the guard's count, and trying (refused, counted) would
      // change the count checked below.
      await sleep(100)
      expect(await sendAlsMessages(app.alsPort, [message()])).toStrictEqual(OK)
      expect(await sendAlsMessages(app.alsPort, [message()])).toStrictEqual(OK)
      expect((await counter(app.url, TOO_MANY)) - refusedBefore).toBe(1)
    } finally {
      await app.stop()
    }
  })

  it("one connection gets at most MESHSIGHT_GRPC_MAX_STREAMS_PER_CONNECTION streams at once (HTTP/2 SETTINGS); more wait", async () => {
    const app = await startMeshsightAsync({ config: { MESHSIGHT_GRPC_MAX_STREAMS_PER_CONNECTION: "1" } })
    try {
      const streamsBefore = await counter(app.url, STREAMS)
      const first = openAlsStream(app.alsPort)
      await first.write(message())
      // The second call queues on the client (same channel target and options → the same connection) until the
      // first ends.
      const second = openAlsStream(app.alsPort)
      const secondWrite = second.write(message())
      const early = await Promise.race([second.status.then(() => "ended"), sleep(300).then(() => "waiting")])
      expect(early).toBe("waiting")
      expect(await first.end()).toStrictEqual(OK)
      await secondWrite
      expect(await second.end()).toStrictEqual(OK)
      first.close()
      second.close()
      expect((await counter(app.url, STREAMS)) - streamsBefore).toBe(2)
    } finally {
      await app.stop()
    }
  })
})
