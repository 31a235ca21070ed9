// Runs the whole meshsight app in-process for tests: real gRPC and HTTP servers on ephemeral loopback ports.
import { Clock, Effect, Exit, Layer, Scope } from "effect"
import { HttpServer } from "effect/http"
import { makeAppLayer } from "../../src/app.ts"
import { layerFromVariables, type Variables } from "../../src/config.ts"
import type { AnalyzerLayers } from "../../src/identity/chain.ts"
import { GrpcServer } from "../../src/ingest/grpc-server.ts"
import { configuredAnalyzers } from "../../src/main-analyzers.ts"

export interface MeshsightOptions {
  /** Settings as variables (MESHSIGHT_*, SW_*); the rest are the defaults. gRPC and HTTP default to 127.0.0.1 port 0. */
  readonly config?: Variables
  /** The analyzers' Layers (default: those of the configured analyzers, as `src/main.ts` picks them). */
  readonly analyzers?: AnalyzerLayers
  /** The app's clock (default: the real one); see `shiftableClock`. */
  readonly clock?: Clock.Clock
}

/**
 * The real clock, moved to a chosen time on demand (it keeps running from there; sleeps are real): for
 * minute-based logic in a running app whose sockets and timers are real, where TestClock would stop them.
 */
export const shiftableClock = () => {
  const real = Clock.Clock.defaultValue()
  let offsetMs = 0
  const millis = () => real.currentTimeMillisUnsafe() + offsetMs
  const nanos = () => real.currentTimeNanosUnsafe() + BigInt(offsetMs) * 1_000_000n
  const clock: Clock.Clock = {
    currentTimeMillisUnsafe: millis,
    currentTimeMillis: Effect.sync(millis),
    currentTimeNanosUnsafe: nanos,
    currentTimeNanos: Effect.sync(nanos),
    monotonicTimeNanosUnsafe: () => real.monotonicTimeNanosUnsafe(),
    monotonicTimeNanos: real.monotonicTimeNanos,
    sleep: (duration) => real.sleep(duration)
  }
  return { clock, setTime: (ms: number) => void (offsetMs = ms - real.currentTimeMillisUnsafe()), now: millis }
}

export interface RunningMeshsight {
  readonly grpcPort: number
  /** Where Envoy's ALS goes (the gRPC port unless a dedicated ALS port is configured). */
  readonly alsPort: number
  readonly httpPort: number
  /** `http://127.0.0.1:PORT` */
  readonly url: string
}

const testConfig = (options: MeshsightOptions) =>
  layerFromVariables({
    MESHSIGHT_GRPC_ADDRESS: "127.0.0.1:0",
    MESHSIGHT_HTTP_HOST: "127.0.0.1",
    MESHSIGHT_HTTP_PORT: "0",
    ...options.config
  })

/** The app's layer with test defaults, exposing every stage's service. */
export const meshsightLayer = (options: MeshsightOptions = {}) => {
  const app = makeAppLayer(options.analyzers ?? configuredAnalyzers).pipe(Layer.provideMerge(testConfig(options)))
  return options.clock === undefined ? app : app.pipe(Layer.provide(Layer.succeed(Clock.Clock, options.clock)))
}

const describeRunning = Effect.gen(function* () {
  const grpc = yield* GrpcServer
  const http = yield* HttpServer.HttpServer
  const address = http.address
  if (address._tag === "UnixPathAddress") throw new Error("the HTTP server is not on TCP")
  return { grpcPort: grpc.port, alsPort: grpc.alsPort, httpPort: address.port, url: `http://127.0.0.1:${address.port}` }
})

/** Starts meshsight in the current Scope (it stops when the scope closes: a clean shutdown, as on SIGTERM). */
export const startMeshsight = (options: MeshsightOptions = {}) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(meshsightLayer(options))
    return yield* describeRunning.pipe(Effect.provide(context))
  })

/** For tests without Effect: start, then `stop()` when done. */
export const startMeshsightAsync = async (
  options: MeshsightOptions = {}
): Promise<RunningMeshsight & { readonly stop: () => Promise<void> }> => {
  const scope = Effect.runSync(Scope.make())
  const running = await Effect.runPromise(startMeshsight(options).pipe(Scope.provide(scope)))
  return { ...running, stop: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}
