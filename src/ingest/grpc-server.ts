// The ingest stage: a grpc-js server for Envoy's AccessLogService and MetricsService (v3 and v2) and the gRPC
// health service. Each ALS or MetricsService call runs as a fiber, and its pipeline handles each message in the event
// that delivers it (./message-source.ts): nothing is read from any connection while a message is being handled, so a
// slow pipeline slows the sender (HTTP/2 flow control) instead of buffering without bound.
import * as grpc from "@grpc/grpc-js"
import { Cause, Context, Effect, Exit, FiberSet, Layer, Metric, Schema } from "effect"
import { listenFailure } from "../listen-failure.ts"
import { printable } from "../log-text.ts"
import { grpcServerCredentials } from "../security/tls.ts"
import { watchTokenFile } from "../security/tokens.ts"
import {
  callsRefused,
  metricsStreamsActive,
  metricsStreamsFailed,
  metricsStreamsOpened,
  streamsActive,
  streamsFailed,
  streamsOpened
} from "../telemetry.ts"
import { settingsConfig } from "../util/setting.ts"
import { callGuards } from "./call-guards.ts"
import {
  acceptMetricsService,
  alsGrpcHost,
  alsGrpcPort,
  alsTokenFile,
  grpcAddress,
  grpcHostOf,
  grpcMaxConnectionAgeGraceMs,
  grpcMaxConnectionAgeMs,
  grpcMaxMessageBytes,
  grpcMaxStreams,
  grpcMaxStreamsPerConnection
} from "./grpc-settings.ts"
import { serverTuning, widenFlowControlWindows } from "./grpc-tuning.ts"
import { type AgedConnections, trackAgedConnections } from "./aged-connections.ts"
import { streamStatus, type StreamEnd } from "./stream-status.ts"
import { makeHealthService, ServingStatus } from "./health.ts"
import {
  accessLogService,
  ALS_SERVICE_NAMES,
  EMPTY_RESPONSE,
  HEALTH_SERVICE_NAME,
  healthService,
  METRICS_SERVICE_NAMES,
  metricsService
} from "./service-definitions.ts"
import { StreamBroken } from "./stream-errors.ts"
import { readableSource } from "./message-source.ts"
import { AlsStreamHandler, MetricsStreamHandler, type StreamHandlerShape } from "./stream-handler.ts"

export class GrpcBindError extends Schema.TaggedError<GrpcBindError>()("GrpcBindError", {
  address: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `cannot listen on gRPC ${this.address}: ${this.detail}`
  }
}

export interface GrpcServerShape {
  /** The port the main gRPC server listens on (useful when configured as 0). */
  readonly port: number
  /** The port ALS is served on: the main port unless a dedicated ALS port is configured. */
  readonly alsPort: number
}

/**
 * A client that resets its HTTP/2 stream (e.g. mid-message) shows up in grpc-js as a clean end of the messages
 * followed a moment later (~2 ms on loopback) by 'cancelled'. Wait a short real-time grace before calling the
 * stream complete; the messages that arrived whole are already processed, the cut one is lost.
 */
const RESET_GRACE_MS = 50
const resetAfterEnd = (call: grpc.ServerReadableStream<Buffer, Buffer>) =>
  Effect.flatMap(
    // Real time on purpose: this is about the transport, not about the data's clock.
    Effect.promise(() => new Promise((resolve) => setTimeout(resolve, RESET_GRACE_MS))),
    () => (call.cancelled ? Effect.fail(new StreamBroken({ detail: "the client reset the stream before ending it" })) : Effect.void)
  )

/** What a kind of client stream (ALS, MetricsService) is called in logs and counted under. */
interface StreamKind {
  readonly label: string
  readonly pipeline: StreamHandlerShape
  readonly opened: Metric.Metric<number, unknown>
  readonly active: Metric.Metric<number, unknown>
  readonly failed: Metric.Metric<number, unknown>
}

export class GrpcServer extends Context.Service<GrpcServer, GrpcServerShape>()("meshsight/GrpcServer") {}

const SHUTDOWN_GRACE_MS = 5_000

const bind = (server: grpc.Server, host: string, port: number, credentials: grpc.ServerCredentials) => {
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`
  return Effect.callback<number, GrpcBindError>((resume) => {
    server.bindAsync(address, credentials, (err, bound) =>
      resume(err ? Effect.fail(new GrpcBindError({ address, detail: listenFailure(err) })) : Effect.succeed(bound))
    )
  })
}

export const GrpcServerLive = Layer.effect(
  GrpcServer,
  Effect.gen(function* () {
    const settings = yield* settingsConfig({
      grpcAddress,
      alsGrpcHost,
      alsGrpcPort,
      grpcMaxMessageBytes,
      acceptMetricsService,
      grpcMaxStreamsPerConnection,
      grpcMaxStreams,
      grpcMaxConnectionAgeMs,
      grpcMaxConnectionAgeGraceMs
    })
    const config = { ...settings, grpcHost: grpcHostOf(settings.grpcAddress), grpcPort: settings.grpcAddress.port }
    const als: StreamKind = {
      label: "ALS",
      pipeline: yield* AlsStreamHandler,
      opened: streamsOpened,
      active: streamsActive,
      failed: streamsFailed
    }
    const metrics: StreamKind = {
      label: "MetricsService",
      pipeline: yield* MetricsStreamHandler,
      opened: metricsStreamsOpened,
      active: metricsStreamsActive,
      failed: metricsStreamsFailed
    }
    const handlers = yield* FiberSet.make()
    const runFork = yield* FiberSet.runtime(handlers)()

    const credentials = yield* grpcServerCredentials
    const tokens = yield* watchTokenFile(alsTokenFile)

    const handleStream = (
      kind: StreamKind,
      connections: AgedConnections,
      call: grpc.ServerReadableStream<Buffer, Buffer>,
      callback: grpc.sendUnaryData<Buffer>
    ) => {
      const connection = connections.connectionOf(call.getPeer())
      const peer = printable(call.getPeer())
      let answered = false
      const answer = (err: grpc.ServiceError | null) => {
        if (answered) return
        answered = true
        if (err) callback(err, null)
        else callback(null, EMPTY_RESPONSE)
      }
      const fail = ({ code, details }: StreamEnd) =>
        answer(Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() }))
      // grpc-js signals a client that went away with 'cancelled' and leaves the readable open: end it as an error
      // so the stream's fiber finishes.
      call.on("cancelled", () => call.destroy(new Error("the client cancelled the stream")))
      const messages = readableSource(call, resetAfterEnd(call))
      return Effect.gen(function* () {
        yield* Metric.update(kind.opened, 1)
        yield* Metric.modify(kind.active, 1)
        const exit = yield* Effect.exit(kind.pipeline.run(messages, peer))
        yield* Metric.modify(kind.active, -1)
        if (Exit.isSuccess(exit)) {
          answer(null)
          yield* Effect.logDebug(
            `${kind.label} stream from ${printable(exit.value.node)} (${peer}) closed after ${exit.value.messages} messages`
          )
          return
        }
        const end = streamStatus(exit.cause)
        // An interrupted stream is answered below, once the fiber is interrupted.
        if (end.outcome === "shutdown") return yield* Effect.interrupt
        fail(end)
        if (end.outcome === "broken" && connections.toldToGo(connection)) {
          // Routine: the connection outlived its age and grace (src/ingest/grpc-tuning.ts); the proxy reconnects.
          yield* Metric.update(Metric.withAttributes(kind.failed, { reason: "connection_age" }), 1)
          return yield* Effect.logDebug(
            `${kind.label} stream from ${peer} ended with its connection (MESHSIGHT_GRPC_MAX_CONNECTION_AGE_MS)`
          )
        }
        yield* Metric.update(Metric.withAttributes(kind.failed, { reason: end.reason }), 1)
        if (end.outcome === "rejected" || end.outcome === "refused") {
          yield* Effect.logWarning(`${kind.label} stream from ${peer} ${end.outcome} (${end.reason}): ${printable(end.details)}`)
        } else if (end.outcome === "broken") {
          // grpc-js answers a message over the size limit with RESOURCE_EXHAUSTED itself and then shows the
          // handler only a cancelled call, so that case lands here too.
          yield* Effect.logWarning(
            `${kind.label} stream from ${peer} broke off: ${printable(end.details)} (the proxy went away or reset the stream, or sent a message` +
              ` over MESHSIGHT_GRPC_MAX_MESSAGE_BYTES=${config.grpcMaxMessageBytes}, refused with RESOURCE_EXHAUSTED)`
          )
        } else {
          yield* Effect.logError(`${kind.label} stream from ${peer} failed`, exit.cause)
        }
      }).pipe(
        // Interrupting the fiber does not finish the call: tell the proxy to reconnect (to another replica).
        Effect.onInterrupt(() => Effect.sync(() => fail(streamStatus(Cause.interrupt()))))
      )
    }

    let serving: number = ServingStatus.SERVING
    const servedNames = new Set(["", HEALTH_SERVICE_NAME, ALS_SERVICE_NAMES.v3, ALS_SERVICE_NAMES.v2])
    if (config.acceptMetricsService) for (const name of Object.values(METRICS_SERVICE_NAMES)) servedNames.add(name)
    const health = makeHealthService((service) => (servedNames.has(service) ? serving : undefined))

    const guards = callGuards({
      tokens,
      maxCalls: config.grpcMaxStreams,
      onRefused: (reason, peer) =>
        runFork(
          Effect.andThen(
            Metric.update(Metric.withAttributes(callsRefused, { reason }), 1),
            Effect.logWarning(
              `gRPC call from ${printable(peer)} refused: ${reason === "unauthenticated" ? "no valid bearer token (MESHSIGHT_ALS_TOKEN_FILE)" : `MESHSIGHT_GRPC_MAX_STREAMS=${config.grpcMaxStreams} calls already open`}`
            )
          )
        )
    })
    const options = { interceptors: [guards], ...serverTuning(config) }
    const main = new grpc.Server(options)
    const dedicated = config.alsGrpcPort !== 0 ? new grpc.Server(options) : undefined
    const alsServer = dedicated ?? main
    widenFlowControlWindows(alsServer)
    const connections = trackAgedConnections(alsServer)
    for (const version of ["v3", "v2"] as const) {
      alsServer.addService(accessLogService(version), {
        StreamAccessLogs: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          runFork(handleStream(als, connections, call, callback))
        }
      })
      // Envoy's MetricsService goes where its ALS goes (SkyWalking serves both on one receiver port).
      if (config.acceptMetricsService) {
        alsServer.addService(metricsService(version), {
          StreamMetrics: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
            runFork(handleStream(metrics, connections, call, callback))
          }
        })
      }
    }
    main.addService(healthService, health.handlers)
    if (dedicated) dedicated.addService(healthService, health.handlers)

    const shutdown = (server: grpc.Server) =>
      Effect.callback<void>((resume) => server.tryShutdown(() => resume(Effect.void))).pipe(
        Effect.timeoutOrElse({ duration: SHUTDOWN_GRACE_MS, orElse: () => Effect.sync(() => server.forceShutdown()) })
      )
    const servers = dedicated ? [main, dedicated] : [main]
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        serving = ServingStatus.NOT_SERVING
        health.stop()
        // Stop the stream fibers first (each finishes the message it is on, then answers UNAVAILABLE), then let
        // grpc-js close the transport: tryShutdown would otherwise wait on calls that never end.
        yield* FiberSet.clear(handlers)
        yield* Effect.forEach(servers, shutdown, { discard: true })
        yield* Effect.logInfo("gRPC server stopped")
      })
    )
    const port = yield* bind(main, config.grpcHost, config.grpcPort, credentials())
    const alsPort = dedicated ? yield* bind(dedicated, config.alsGrpcHost, config.alsGrpcPort, credentials()) : port
    const served = config.acceptMetricsService ? " and MetricsService (v2, v3)" : " (v2, v3)"
    yield* Effect.logInfo(
      dedicated
        ? `gRPC listening on ${config.grpcHost}:${port}; Envoy ALS${served} on ${config.alsGrpcHost}:${alsPort}`
        : `gRPC listening on ${config.grpcHost}:${port}: Envoy ALS${served} and grpc.health.v1`
    )
    return { port, alsPort }
  })
)
