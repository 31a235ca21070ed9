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
  /** A full garbage collection in meshsight, through its inspector (only when started with `inspector`). */
  readonly collectGarbage: () => Promise<void>
  readonly stop: () => Promise<void>
}

/** Runs one Chrome DevTools Protocol command on the inspector at `port`; resolves with its answer. */
const inspectorCommand = async (port: number, method: string) => {
  const [target] = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>
  const ws = new WebSocket(target.webSocketDebuggerUrl)
  await new Promise((resolve, reject) => {
    ws.onopen = resolve
    ws.onerror = reject
  })
  await new Promise<void>((resolve, reject) => {
    ws.onmessage = (e) => (JSON.parse(String(e.data)).id === 1 ? resolve() : undefined)
    ws.onerror = reject
    ws.send(JSON.stringify({ id: 1, method }))
  })
  ws.close()
}

/**
 * `nodeFlags` go to node before the script; by default those of `npm start`. `env` adds settings (one process
 * unless it sets MESHSIGHT_WORKERS). `inspector` opens node's inspector on loopback, for `collectGarbage`;
 * `cores`: where it may run (taskset), core 0 by default; `main`: another build's dist/main.js (bench/ab.ts);
 * `stdout`: gets what it prints there (V8's --trace-gc lines: bench/gc-count.ts).
 */
export const startMeshsight = async (
  nodeFlags: ReadonlyArray<string> = serviceNodeFlags,
  env: Record<string, string> = {},
  options: {
    readonly inspector?: boolean
    readonly cores?: number | string
    readonly main?: string
    readonly stdout?: (text: string) => void
  } = {}
): Promise<BenchedMeshsight> => {
  const { inspector = false, cores = 0, main = SERVER_MAIN } = options
  const grpcPort = await freePort()
  const httpPort = await freePort()
  const inspectorPort = inspector ? await freePort() : 0
  const flags = inspector ? [...nodeFlags, `--inspect=127.0.0.1:${inspectorPort}`] : nodeFlags
  const child = spawnPinned(cores, [...flags, main], {
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
  if (options.stdout !== undefined) child.stdout!.on("data", (d) => options.stdout!(String(d)))
  const url = `http://127.0.0.1:${httpPort}`
  await waitUntilReady(url, child, () => log)
  return {
    pid: child.pid!,
    target: `127.0.0.1:${grpcPort}`,
    url,
    metric: async (name) => metricValue(await (await fetch(`${url}/metrics`)).text(), name),
    collectGarbage: () =>
      inspector ? inspectorCommand(inspectorPort, "HeapProfiler.collectGarbage") : Promise.reject(new Error("started without inspector")),
    stop: () => stopProcess(child)
  }
}
