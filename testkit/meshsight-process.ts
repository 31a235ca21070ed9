// Runs meshsight as its own Node process (`node [npm start's flags] src/main.ts`), as a user would, on free loopback ports.
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { freePort } from "../scripts/ports.ts"
import { serviceNodeFlags, waitUntilReady } from "../scripts/start-command.ts"

export { freePort }

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url))

export interface MeshsightProcess {
  readonly grpcPort: number
  readonly httpPort: number
  readonly url: string
  readonly child: ChildProcess
  /** Everything the process printed so far (stdout and stderr). */
  readonly output: () => string
  /** Sends a signal and waits for the exit code. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/**
 * Starts meshsight and waits until /readyz answers 200 (or the process exits, which rejects with its output).
 * `nodeFlags` come after npm start's (e.g. `--max-old-space-size`).
 */
export const spawnMeshsight = async (
  env: Record<string, string> = {},
  nodeFlags: ReadonlyArray<string> = []
): Promise<MeshsightProcess> => {
  const grpcPort = await freePort()
  const httpPort = await freePort()
  const child = spawn(process.execPath, [...serviceNodeFlags, ...nodeFlags, MAIN], {
    env: {
      ...process.env,
      MESHSIGHT_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
      MESHSIGHT_HTTP_HOST: "127.0.0.1",
      MESHSIGHT_HTTP_PORT: String(httpPort),
      // One process unless a test asks for workers: the default (one per core) would depend on the machine.
      MESHSIGHT_WORKERS: "1",
      ...env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout!.on("data", (d) => (output += d))
  child.stderr!.on("data", (d) => (output += d))
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const url = `http://127.0.0.1:${httpPort}`
  await waitUntilReady(url, child, () => output)
  return {
    grpcPort,
    httpPort,
    url,
    child,
    output: () => output,
    stop: (signal = "SIGTERM") => {
      if (child.exitCode === null) child.kill(signal)
      return exited
    }
  }
}

/** Runs meshsight to its exit (for start-up failures); resolves with the exit code and output. */
export const runMeshsightToExit = (env: Record<string, string>): Promise<{ code: number | null; output: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [...serviceNodeFlags, MAIN], {
      env: { ...process.env, MESHSIGHT_WORKERS: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (d) => (output += d))
    child.stderr.on("data", (d) => (output += d))
    child.once("exit", (code) => resolve({ code, output }))
  })

/** A metric's value in Prometheus text (`name{labels} value`), 0 when absent. */
export const metricValue = (text: string, series: string): number => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}
