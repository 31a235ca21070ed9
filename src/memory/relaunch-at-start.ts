// Imported first by src/main.ts, for its side effect only: a process that should run differently starts itself
// again in place (process.execve: same PID, same streams and signals) before anything else is loaded — with V8's
// heap sized to the memory budget (./heap-relaunch.ts) and with jemalloc preloaded (./allocator.ts), both in one
// restart. Kept apart so that importing the decisions (tests, tools) never restarts the importing process.
import { getHeapStatistics } from "node:v8"
import { allocatorRelaunchEnv, loadedJemalloc } from "./allocator.ts"
import { heapRelaunchFlags } from "./heap-relaunch.ts"

if (typeof process.execve === "function") {
  const flags = heapRelaunchFlags(process.env, process.execArgv, getHeapStatistics().heap_size_limit)
  const env = allocatorRelaunchEnv(process.env, loadedJemalloc())
  if (flags !== undefined || env !== undefined)
    process.execve(process.execPath, [process.execPath, ...(flags ?? process.execArgv), ...process.argv.slice(1)], env ?? process.env)
}
