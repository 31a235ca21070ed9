// SIGTERM: the gRPC server closes, open streams are told UNAVAILABLE (so Envoy reconnects), what was pending is
// flushed, and the process exits 0.
import * as grpc from "@grpc/grpc-js"
import { describe, expect, it } from "vitest"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, inboundHttpEntry, type Workload } from "../../sim/istio-entries.ts"
import { openAlsStream } from "../support/als-client.ts"
import { metricValue, spawnMeshsight } from "../../testkit/meshsight-process.ts"
import { waitFor } from "../support/wait-for.ts"

const web: Workload = { name: "web-0", namespace: "shop", ip: "10.2.0.1", labels: { app: "web" }, workloadName: "web" }
const cart: Workload = { name: "cart-0", namespace: "shop", ip: "10.2.0.2", labels: { app: "cart" }, workloadName: "cart" }

describe("shutdown", () => {
  it("on SIGTERM drains the streams, flushes the current bucket and exits 0", async () => {
    // A long flush interval: only the shutdown flush can store this call.
    const app = await spawnMeshsight({ MESHSIGHT_FLUSH_INTERVAL_MS: "60000" })
    const stream = openAlsStream(app.grpcPort)
    const entry = inboundHttpEntry({ startMs: Date.now(), durationMs: 3 }, { client: web, server: cart, port: 80, host: "cart" })
    await stream.write(encodeAlsMessageJson(alsMessageJson({ http: [entry] }, { workload: cart })))
    await waitFor(
      "the call received",
      async () => (await fetch(`${app.url}/metrics`)).text(),
      (t) => metricValue(t, 'meshsight_als_entries_total{kind="http"}') === 1
    )
    const code = await app.stop("SIGTERM")
    const status = await stream.status
    stream.close()
    expect(code).toBe(0)
    expect(status.code).toBe(grpc.status.UNAVAILABLE)
    const log = app.output()
    expect(log).toMatch(/gRPC server stopped/)
    // service, instance, endpoint, service relation and instance relation of the one call
    expect(log).toMatch(/final flush: 5 pending series stored/)
    expect(log.indexOf("gRPC server stopped")).toBeLessThan(log.indexOf("final flush"))
  })

  it("on SIGINT exits 0 too", async () => {
    const app = await spawnMeshsight()
    expect(await app.stop("SIGINT")).toBe(0)
  })
})
