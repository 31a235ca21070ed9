// MESHSIGHT_WORKERS' default: the cores the process may use, no more than the container's CPU limit, and no more
// than one worker per 512 MiB of the memory budget (each worker is a Node process of its own).
import { availableParallelism } from "node:os"
import { describe, expect, it } from "vitest"
import { containerCpuLimit, defaultWorkers, MB_PER_WORKER, parseCpuMax } from "../../src/workers/settings.ts"

const files = (content: Record<string, string>) => (path: string) => {
  const text = content[path]
  if (text === undefined) throw new Error(`ENOENT: ${path}`)
  return text
}

describe("the default number of workers", () => {
  it("reads the container's CPU limit, rounded up to whole cores", () => {
    expect(parseCpuMax("200000 100000\n")).toBe(2)
    expect(parseCpuMax("150000 100000")).toBe(2)
    expect(parseCpuMax("max 100000")).toBeUndefined()
    expect(containerCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "400000 100000\n" }))).toBe(4)
    // cgroup v1: quota -1 is no limit.
    expect(
      containerCpuLimit(files({ "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "300000\n", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n" }))
    ).toBe(3)
    expect(
      containerCpuLimit(files({ "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n" }))
    ).toBeUndefined()
    expect(containerCpuLimit(files({}))).toBeUndefined()
  })

  it("forks no more workers than the memory budget has room for, and at least one", () => {
    expect(defaultWorkers(64)).toBe(1)
    expect(defaultWorkers(MB_PER_WORKER)).toBe(1)
    expect(defaultWorkers(1024)).toBe(Math.min(2, availableParallelism(), containerCpuLimit() ?? 2))
    expect(defaultWorkers(1_048_576)).toBe(Math.min(availableParallelism(), containerCpuLimit() ?? Number.POSITIVE_INFINITY))
  })
})
