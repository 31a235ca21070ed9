// The errors that stop start-up with their own one-line message instead of a stack trace: a setting, a file, a
// port or credentials the operator can fix. `main.ts` prints these and reports anything else as unexpected.
import { HttpServerError } from "effect/http"
import { InvalidGroupingFile } from "./analysis/endpoint-rules.ts"
import { InvalidSetting } from "./config.ts"
import { HttpBindError } from "./http/http-server.ts"
import { UnknownAnalyzer } from "./identity/chain.ts"
import { K8sCredentialsError } from "./identity/k8s-mesh/k8s-mesh.ts"
import { GrpcBindError } from "./ingest/grpc-server.ts"
import { UnusableFile } from "./security/watched-files.ts"

const STARTUP_ERRORS = [
  InvalidSetting,
  InvalidGroupingFile,
  UnknownAnalyzer,
  GrpcBindError,
  HttpBindError,
  HttpServerError.ServeError,
  K8sCredentialsError,
  UnusableFile
] as const

export type StartupError = InstanceType<(typeof STARTUP_ERRORS)[number]>

export const isStartupError = (error: unknown): error is StartupError => STARTUP_ERRORS.some((c) => error instanceof c)
