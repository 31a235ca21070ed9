import { describe, expect, it } from "vitest"
import { sendAlsMessages } from "../support/als-client.ts"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, inboundHttpEntry, outboundHttpEntry, type Workload } from "../../sim/istio-entries.ts"
import { getJson } from "../support/http-json.ts"
import { startMeshsightAsync } from "../support/meshsight.ts"

const productpage: Workload = { name: "productpage-v1-1", namespace: "default", ip: "10.0.0.1", labels: { app: "productpage" }, workloadName: "productpage-v1" }
const reviews: Workload = { name: "reviews-v1-1", namespace: "default", ip: "10.0.0.2", labels: { app: "reviews" }, workloadName: "reviews-v1" }

describe("smoke", () => {
  it("ingests mx-mesh traffic and serves topology", async () => {
    const app = await startMeshsightAsync()
    try {
      const peers = { client: productpage, server: reviews, port: 9080, host: "reviews.default.svc.cluster.local" }
      const now = Date.now()
      const out = encodeAlsMessageJson(alsMessageJson({ http: [outboundHttpEntry({ startMs: now, durationMs: 20 }, peers)] }, { workload: productpage }))
      const inn = encodeAlsMessageJson(alsMessageJson({ http: [inboundHttpEntry({ startMs: now, durationMs: 18 }, peers)] }, { workload: reviews }))
      expect(await sendAlsMessages(app.alsPort, [out])).toEqual({ code: 0, details: "" })
      expect(await sendAlsMessages(app.alsPort, [inn])).toEqual({ code: 0, details: "" })
      await new Promise((r) => setTimeout(r, 1200))
      const topo = await getJson(app.url, "/api/topology")
      console.log(JSON.stringify(topo.body, null, 1).slice(0, 3000))
      expect(topo.body.edges.length).toBe(1)
    } finally {
      await app.stop()
    }
  })
})
