// Prometheus endpoints: /metrics (meshsight's own counters and the process metrics) and /metrics/mesh (the
// Istio-standard mesh metrics and the proxies' MetricsService gauges, in OpenMetrics when the scraper asks for it).
import { Effect } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, wantsOpenMetrics } from "../export/exposition.ts"
import { MeshExport } from "../export/mesh-export.ts"
import { processMetricsText } from "./process-metrics.ts"

export const MetricsRoutes = HttpRouter.use(
  Effect.fn(function* (router) {
    const meshExport = yield* MeshExport
    yield* router.add(
      "GET",
      "/metrics",
      Effect.gen(function* () {
        const own = yield* PrometheusMetrics.format()
        return HttpServerResponse.text(own + processMetricsText(), { contentType: TEXT_CONTENT_TYPE })
      })
    )
    yield* router.add(
      "GET",
      "/metrics/mesh",
      Effect.gen(function* () {
        if (!meshExport.enabled) {
          return HttpServerResponse.text("the Istio-standard metrics are off (MESHSIGHT_MESH_METRICS=false)\n", { status: 404 })
        }
        const request = yield* HttpServerRequest.HttpServerRequest
        const openMetrics = wantsOpenMetrics(request.headers["accept"])
        return HttpServerResponse.text(yield* meshExport.scrape(openMetrics), {
          contentType: openMetrics ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE
        })
      })
    )
  })
)
