// meshsight under benchmark: its own process on core 0, started as `npm start` does (`node [its flags] dist/main.js`, built from
// the current sources first), quiet logs.
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { serviceNodeFlags } from "../scripts/start-command.ts"
import { freePort, spawnPinned, stopProcess } from "./processes.ts"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url))

/** Compiles src/ to dist/ (the server part of `npm run build`; the UI bundle plays no part here). */
export const buildMeshsight = () => {
  try {
    execFileSync(process.execPath, [fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url)), "-p", "tsconfig.build.json"], {
      cwd: ROOT,
      stdio: "pipe"
    })
  } catch (e) {
    // tsc still emits on type errors; only a missing output is fatal.
    if (!existsSync(MAIN)) throw e
    console.error(`bench: tsc reported errors, benchmarking what it emitted:\n${String((e as { stdout?: unknown }).stdout ?? e)}`)
  }
}

export interface BenchedMeshsight {
  readonly pid: number
  /** gRPC `host:port` */
  readonly target: string
  readonly url: string
  readonly metric: (name: string) => Promise<number>
  readonly stop: () => Promise<void>
}

/** `nodeFlags` go to node before the script; by default those of `npm start`. */
export const startMeshsight = async (nodeFlags: ReadonlyArray<string> = serviceNodeFlags): Promise<BenchedMeshsight> => {
  const grpcPort = await freePort()
  const httpPort = await freePort()
  const child = spawnPinned(0, [...nodeFlags, MAIN], {
    MESHSIGHT_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
    MESHSIGHT_HTTP_HOST: "127.0.0.1",
    MESHSIGHT_HTTP_PORT: String(httpPort),
    MESHSIGHT_GRPC_MAX_MESSAGE_BYTES: String(64 * 1024 * 1024),
    MESHSIGHT_LOG_LEVEL: "Warn"
  })
  let log = ""
  child.stderr!.on("data", (d) => (log += d))
  const url = `http://127.0.0.1:${httpPort}`
  for (const deadline = Date.now() + 20_000; ;) {
    if (child.exitCode !== null) throw new Error(`meshsight exited ${child.exitCode}:\n${log}`)
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break
    if (Date.now() > deadline) throw new Error(`meshsight did not become ready:\n${log}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    pid: child.pid!,
    target: `127.0.0.1:${grpcPort}`,
    url,
    metric: async (name) => {
      const text = await (await fetch(`${url}/metrics`)).text()
      const line = text.split("\n").find((l) => l.startsWith(`${name} `))
      return line === undefined ? 0 : Number(line.slice(name.length + 1))
    },
    stop: () => stopProcess(child)
  }
}
