// The errors that stop start-up with their own one-line message instead of a stack trace: a setting, a file, a
// port or credentials the operator can fix. `main.ts` prints these and reports anything else as unexpected.
import { Config } from "effect"
import { HttpServerError } from "effect/http"
import { InvalidGroupingFile } from "./analysis/endpoint-rules.ts"
import { HttpBindError } from "./http/http-server.ts"
import { K8sCredentialsError } from "./identity/k8s-mesh/k8s-mesh.ts"
import { GrpcBindError } from "./ingest/grpc-server.ts"
import { UnusableFile } from "./security/watched-files.ts"
import { WorkerStartFailed } from "./workers/primary.ts"

const STARTUP_ERRORS = [
  // An invalid setting (src/config.ts): its cause carries the line.
  Config.ConfigError,
  InvalidGroupingFile,
  GrpcBindError,
  HttpBindError,
  HttpServerError.ServeError,
  K8sCredentialsError,
  UnusableFile,
  WorkerStartFailed
] as const

export type StartupError = InstanceType<(typeof STARTUP_ERRORS)[number]>

export const isStartupError = (error: unknown): error is StartupError => STARTUP_ERRORS.some((c) => error instanceof c)

/** The line start-up stops with. */
export const startupMessage = (error: StartupError): string => (error instanceof Config.ConfigError ? error.cause.message : error.message)
