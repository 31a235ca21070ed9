// meshsight under benchmark: its own process on core 0, started as `npm start` does (`node [its flags] dist/main.js`, built from
// the current sources first), quiet logs.
import { SERVER_MAIN, serviceNodeFlags, waitUntilReady } from "../scripts/start-command.ts"
import { metricValue } from "../testkit/meshsight-process.ts"
import { freePort, spawnPinned, stopProcess } from "./processes.ts"

export interface BenchedMeshsight {
  readonly pid: number
  /** gRPC `host:port` */
  readonly target: string
  readonly url: string
  readonly metric: (name: string) => Promise<number>
  readonly stop: () => Promise<void>
}

/**
 * `nodeFlags` go to node before the script; by default those of `npm start`. `env` adds settings (one process
 * unless it sets MESHSIGHT_WORKERS). `cores`: where it may run (taskset), core 0 by default.
 */
export const startMeshsight = async (
  nodeFlags: ReadonlyArray<string> = serviceNodeFlags,
  env: Record<string, string> = {},
  cores: number | string = 0
): Promise<BenchedMeshsight> => {
  const grpcPort = await freePort()
  const httpPort = await freePort()
  const child = spawnPinned(cores, [...nodeFlags, SERVER_MAIN], {
    MESHSIGHT_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
    MESHSIGHT_HTTP_HOST: "127.0.0.1",
    MESHSIGHT_HTTP_PORT: String(httpPort),
    MESHSIGHT_GRPC_MAX_MESSAGE_BYTES: String(64 * 1024 * 1024),
    MESHSIGHT_LOG_LEVEL: "Warn",
    MESHSIGHT_WORKERS: "1",
    ...env
  })
  let log = ""
  child.stderr!.on("data", (d) => (log += d))
  const url = `http://127.0.0.1:${httpPort}`
  await waitUntilReady(url, child, () => log)
  return {
    pid: child.pid!,
    target: `127.0.0.1:${grpcPort}`,
    url,
    metric: async (name) => metricValue(await (await fetch(`${url}/metrics`)).text(), name),
    stop: () => stopProcess(child)
  }
}
