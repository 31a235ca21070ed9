// meshsight's entry point: read the configuration, pick the analyzers, run the pipeline until SIGTERM/SIGINT.
// With MESHSIGHT_WORKERS > 1 this process is the primary and forks the workers, which run this module again
// (node:cluster) and take the worker's part (src/workers/).
// First of all, start again with a heap sized to the memory budget when V8's own is far larger (evaluated before
// the modules below, which ES modules evaluate in import order).
import "./memory/relaunch-at-start.ts"
import cluster from "node:cluster"
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Layer, Logger, References } from "effect"
import { makeAppLayer, makePrimaryLayer, makeWorkerLayer } from "./app.ts"
import { loadConfig } from "./config.ts"
import { analyzerLayers } from "./main-analyzers.ts"
import { isStartupError, startupMessage } from "./startup-errors.ts"
import { WORKER_SLOT_ENV } from "./workers/primary.ts"
import { workerCount } from "./workers/settings.ts"

const program = Effect.gen(function* () {
  const config = yield* loadConfig
  const logging = Layer.mergeAll(
    Logger.layer([config.logFormat === "json" ? Logger.consoleJson : Logger.consolePretty()]),
    Layer.succeed(References.MinimumLogLevel, config.logLevel)
  )
  if (cluster.isWorker) {
    const analyzers = yield* Effect.promise(() => analyzerLayers([...config.httpAnalyzers, ...config.tcpAnalyzers]))
    return yield* Layer.launch(makeWorkerLayer(analyzers)).pipe(
      Effect.annotateLogs({ worker: process.env[WORKER_SLOT_ENV] ?? "?" }),
      Effect.provide(logging)
    )
  }
  yield* Effect.forEach(config.warnings, (warning) => Effect.logWarning(warning)).pipe(Effect.provide(logging))
  // The primary loads no analyzer: its workers identify.
  if ((yield* workerCount) > 1) return yield* Layer.launch(makePrimaryLayer()).pipe(Effect.provide(logging))
  const analyzers = yield* Effect.promise(() => analyzerLayers([...config.httpAnalyzers, ...config.tcpAnalyzers]))
  // The stages read their own settings from the same (default: environment) ConfigProvider; all were checked above.
  yield* Layer.launch(makeAppLayer(analyzers)).pipe(Effect.provide(logging))
}).pipe(
  Effect.tapCause((cause) =>
    Effect.sync(() => {
      const failure = cause.reasons.find(Cause.isFailReason)?.error
      if (isStartupError(failure)) console.error(`meshsight: ${startupMessage(failure)}`)
      else if (!Cause.hasInterruptsOnly(cause)) console.error(`meshsight stopped on an unexpected error:\n${Cause.pretty(cause)}`)
    })
  )
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  // A signal is the normal way to stop a service: exit 0 rather than the default 130.
  teardown: (exit, onExit) => onExit(exit._tag === "Success" || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
})
