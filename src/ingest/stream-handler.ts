// What the gRPC server hands each client stream to. ingest/ is only the transport: the per-stream pipelines
// (src/pipeline/) provide these services, so this stage imports none of the stages after it.
import { Context, type Effect } from "effect"
import type { MessageSource } from "./message-source.ts"
import type { StreamBroken, StreamRefused, StreamRejected } from "./stream-errors.ts"

export interface StreamSummary {
  readonly node: string
  readonly messages: number
  /** ALS entries or MetricsService metric families. */
  readonly entries: number
}

export interface StreamHandlerShape {
  /** Consumes one stream of raw protobuf messages; `peer` names the client in logs. */
  readonly run: (messages: MessageSource, peer: string) => Effect.Effect<StreamSummary, StreamRejected | StreamRefused | StreamBroken>
}

/** Envoy's AccessLogService streams (StreamAccessLogsMessage). */
export class AlsStreamHandler extends Context.Service<AlsStreamHandler, StreamHandlerShape>()("meshsight/AlsStreamHandler") {}

/** Envoy's MetricsService streams (StreamMetricsMessage). */
export class MetricsStreamHandler extends Context.Service<MetricsStreamHandler, StreamHandlerShape>()("meshsight/MetricsStreamHandler") {}
