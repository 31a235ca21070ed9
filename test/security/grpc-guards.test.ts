// The gRPC port's call guards with a real grpc-js client: the ALS bearer token (MESHSIGHT_ALS_TOKEN_FILE), the cap
// on calls open at once (MESHSIGHT_GRPC_MAX_STREAMS) and per connection, each refusal counted in /metrics; the
// health service stays open.
import * as grpc from "@grpc/grpc-js"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
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
      assert.deepStrictEqual(await sendAlsMessages(app.alsPort, [message()], "v3", { token: "envoy-secret" }), OK)
      assert.deepStrictEqual(await sendAlsMessages(app.alsPort, [message()], "v2", { token: "envoy-secret" }), OK)
      const missing = await sendAlsMessages(app.alsPort, [message()])
      assert.strictEqual(missing.code, grpc.status.UNAUTHENTICATED)
      assert.include(missing.details, "Bearer")
      assert.strictEqual(
        (await sendAlsMessages(app.alsPort, [message()], "v3", { token: "envoy-secre" })).code,
        grpc.status.UNAUTHENTICATED
      )
      assert.strictEqual((await counter(app.url, UNAUTHENTICATED)) - refusedBefore, 2)
      assert.strictEqual((await counter(app.url, STREAMS)) - streamsBefore, 2)

      const health = new HealthClient(`127.0.0.1:${app.grpcPort}`, grpc.credentials.createInsecure()) as any
      const code = await new Promise<number>((resolve) =>
        health.Check(Buffer.alloc(0), (err: grpc.ServiceError | null) => resolve(err?.code ?? 0))
      )
      health.close()
      assert.strictEqual(code, grpc.status.OK)
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
      assert.strictEqual(third.code, grpc.status.RESOURCE_EXHAUSTED)
      assert.include(third.details, "MESHSIGHT_GRPC_MAX_STREAMS")
      assert.deepStrictEqual(await first.end(), OK)
      first.close()
      // A cancelled call frees its place too.
      second.cancel()
      await second.status
      second.close()
      await sleep(100)
      assert.deepStrictEqual(await sendAlsMessages(app.alsPort, [message()]), OK)
      assert.deepStrictEqual(await sendAlsMessages(app.alsPort, [message()]), OK)
      assert.strictEqual((await counter(app.url, TOO_MANY)) - refusedBefore, 1)
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
      assert.strictEqual(early, "waiting")
      assert.deepStrictEqual(await first.end(), OK)
      await secondWrite
      assert.deepStrictEqual(await second.end(), OK)
      first.close()
      second.close()
      assert.strictEqual((await counter(app.url, STREAMS)) - streamsBefore, 2)
    } finally {
      await app.stop()
    }
  })
})
