// MESHSIGHT_WORKERS: how many worker processes run the ingest pipeline (./primary.ts). The default (0) is the
// cores this process may use: Node's count (CPU affinity), lowered to the container's CPU limit when there is one
// (cgroup v2 cpu.max, else v1 cfs quota / period), so a pod limited to 2 CPUs on a 64-core node forks 2, not 64;
// and lowered again to one worker per MB_PER_WORKER of the memory budget, since each worker is a Node process of
// its own (a pod with 1 GiB and no CPU limit on a 64-core node forks 2, not 64, and is not killed for memory).
import { readFileSync } from "node:fs"
import { availableParallelism } from "node:os"
import { Config } from "effect"
import { defaultMemoryLimitMb } from "../memory/container-limit.ts"
import { memoryLimitMb } from "../memory/budget.ts"
import { Int, setting, settingsConfig } from "../util/setting.ts"

/** A cgroup CPU limit in cores (rounded up); undefined for none. `cpu.max` is "QUOTA PERIOD" or "max PERIOD". */
export const parseCpuMax = (text: string): number | undefined => {
  const [quota, period] = text.trim().split(/\s+/)
  if (quota === undefined || period === undefined || !/^\d+$/.test(quota) || !/^\d+$/.test(period)) return undefined
  const q = Number(quota)
  const p = Number(period)
  return q > 0 && p > 0 ? Math.ceil(q / p) : undefined
}

export const containerCpuLimit = (read: (path: string) => string = (p) => readFileSync(p, "utf8")): number | undefined => {
  try {
    return parseCpuMax(read("/sys/fs/cgroup/cpu.max"))
  } catch {
    // cgroup v1: quota -1 means none.
    try {
      return parseCpuMax(`${read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")} ${read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")}`)
    } catch {
      return undefined
    }
  }
}

/** Memory budget per worker the default leaves: a worker takes ~120 MiB idle and ~240 MiB at peak under load (docs/performance.md), the primary its store on top. */
export const MB_PER_WORKER = 512

export const defaultWorkers = (budgetMb: number): number =>
  Math.max(1, Math.min(availableParallelism(), containerCpuLimit() ?? Number.POSITIVE_INFINITY, Math.floor(budgetMb / MB_PER_WORKER)))

export const workers = setting({
  names: ["MESHSIGHT_WORKERS"],
  schema: Int(0, 256),
  expected: "0 (automatic) or a whole number of worker processes up to 256",
  default: 0
})

/** The workers to run: the setting, or when 0 the default above for the memory budget in effect. */
export const workerCount = Config.map(settingsConfig({ workers, memoryLimitMb }), (s) =>
  s.workers > 0 ? s.workers : defaultWorkers(s.memoryLimitMb || defaultMemoryLimitMb())
)
