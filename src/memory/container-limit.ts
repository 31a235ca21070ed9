// The default memory budget: the container's memory limit when there is one (cgroup v2 memory.max, else cgroup
// v1 memory.limit_in_bytes; "max" or v1's huge "unlimited" number mean none), else 1024 MiB.
import { readFileSync } from "node:fs"

export const DEFAULT_MEMORY_LIMIT_MB = 1024

const CGROUP_FILES = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]

/** cgroup v1 writes a page-rounded 2^63 for "no limit": anything past 2^50 bytes (1 PiB) is no limit. */
const UNLIMITED_BYTES = 2 ** 50

/** A cgroup limit file's content in MiB; undefined for "max", no limit or something unreadable. */
export const parseCgroupLimit = (text: string): number | undefined => {
  const value = text.trim()
  if (!/^\d+$/.test(value)) return undefined
  const bytes = Number(value)
  return bytes > 0 && bytes < UNLIMITED_BYTES ? Math.floor(bytes / (1024 * 1024)) : undefined
}

export const containerMemoryLimitMb = (read: (path: string) => string = (p) => readFileSync(p, "utf8")): number | undefined => {
  for (const file of CGROUP_FILES) {
    let text: string
    try {
      text = read(file)
    } catch {
      continue
    }
    return parseCgroupLimit(text)
  }
  return undefined
}

export const defaultMemoryLimitMb = (): number => containerMemoryLimitMb() ?? DEFAULT_MEMORY_LIMIT_MB
