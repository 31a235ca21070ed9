// Runs the whole meshsight app in-process for tests: real gRPC and HTTP servers on ephemeral loopback ports.
import { Effect, Exit, Layer, Scope } from "effect"
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
  layerFromVariables({ MESHSIGHT_GRPC_ADDRESS: "127.0.0.1:0", MESHSIGHT_HTTP_HOST: "127.0.0.1", MESHSIGHT_HTTP_PORT: "0", ...options.config })

/** The app's layer with test defaults, exposing every stage's service. */
export const meshsightLayer = (options: MeshsightOptions = {}) =>
  makeAppLayer(options.analyzers ?? configuredAnalyzers).pipe(Layer.provideMerge(testConfig(options)))

const describeRunning = Effect.gen(function*() {
  const grpc = yield* GrpcServer
  const http = yield* HttpServer.HttpServer
  const address = http.address
  if (address._tag === "UnixPathAddress") throw new Error("the HTTP server is not on TCP")
  return { grpcPort: grpc.port, alsPort: grpc.alsPort, httpPort: address.port, url: `http://127.0.0.1:${address.port}` }
})

/** Starts meshsight in the current Scope (it stops when the scope closes: a clean shutdown, as on SIGTERM). */
export const startMeshsight = (options: MeshsightOptions = {}) =>
  Effect.gen(function*() {
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


