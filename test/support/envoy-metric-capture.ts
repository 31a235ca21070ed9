// The captured Envoy MetricsService message (test/testdata/skywalking/envoy-metric.msg, protobuf text format, from
// apache/skywalking), encoded with Envoy's official protos as Envoy would send it.
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { istioNodeJson, type Workload } from "../../sim/istio-entries.ts"
import { encodeMetricsMessage, StreamMetricsMessage } from "../../sim/proxy-stats.ts"
import { encodeTextFormat } from "./text-format.ts"

const CAPTURE = fileURLToPath(new URL("../testdata/skywalking/envoy-metric.msg", import.meta.url))

/** The capture as it is: its node's metadata is `{skywalking: "iscool"}`, which names no service or instance. */
export const captureBytes = (): Uint8Array =>
  encodeTextFormat(StreamMetricsMessage, readFileSync(CAPTURE, "utf8"), { "io.prometheus.client.MetricFamily.metrics": "metric" })

/** The capture's metric families behind the identifier of an Istio proxy (what an Istio sidecar's node carries). */
export const captureFrom = (workload: Workload, role: "sidecar" | "router" = "router"): Uint8Array => {
  const { envoyMetrics } = StreamMetricsMessage.toObject(StreamMetricsMessage.decode(captureBytes()), { enums: String, longs: Number })
  return encodeMetricsMessage(envoyMetrics as Array<Record<string, unknown>>, { json: istioNodeJson(workload, role) })
}
