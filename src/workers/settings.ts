// MESHSIGHT_WORKERS: how many worker processes run the ingest pipeline (./primary.ts). The default is the cores
// this process may use: Node's count (CPU affinity), lowered to the container's CPU limit when there is one
// (cgroup v2 cpu.max, else v1 cfs quota / period), so a pod limited to 2 CPUs on a 64-core node forks 2, not 64.
import { readFileSync } from "node:fs"
import { availableParallelism } from "node:os"
import { Int, setting } from "../util/setting.ts"

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

export const defaultWorkers = (): number => Math.max(1, Math.min(availableParallelism(), containerCpuLimit() ?? Number.POSITIVE_INFINITY))

export const workers = setting({
  names: ["MESHSIGHT_WORKERS"],
  schema: Int(1, 256),
  expected: "a whole number of worker processes from 1 to 256",
  default: defaultWorkers()
})
