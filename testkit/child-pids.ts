// The processes a process started (a primary's workers), read from Linux's /proc.
import { readdirSync, readFileSync } from "node:fs"

/** The pids whose parent is `pid`. */
export const childPids = (pid: number): Array<number> =>
  readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        // `pid (comm) state ppid …`: comm may hold spaces, so split after its closing parenthesis.
        const stat = readFileSync(`/proc/${d}/stat`, "utf8")
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid ? [Number(d)] : []
      } catch {
        return [] // the process is gone
      }
    })
