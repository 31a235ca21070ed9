// V8 sizes its heap from the machine, not from the memory budget (a 24 GiB host gives ~4 GiB): garbage could pile
// up far past the budget between collections. So before anything else is loaded, a process whose heap limit is
// well above the budget starts itself again (./relaunch-at-start.ts) with `--max-old-space-size` set from the
// budget. An explicit --max-old-space-size (in the command or NODE_OPTIONS) is left alone, and so is a budget that
// does not parse: the configuration's own check reports that one.
import { defaultMemoryLimitMb } from "./container-limit.ts"
import { heapLimitMb, MEMORY_LIMIT_VARIABLE, MIN_MEMORY_LIMIT_MB, parseMemoryLimitMb } from "./memory-limit.ts"

const MIB = 1024 * 1024

/** The flags to start again with, or undefined when the process may go on as it is. */
export const heapRelaunchFlags = (
  env: NodeJS.ProcessEnv,
  execArgv: ReadonlyArray<string>,
  heapLimitBytes: number,
  defaultBudgetMb: () => number = defaultMemoryLimitMb
): Array<string> | undefined => {
  const explicit = [...execArgv, ...(env.NODE_OPTIONS ?? "").split(/\s+/)].some((f) => f.startsWith("--max-old-space-size"))
  if (explicit) return undefined
  const raw = env[MEMORY_LIMIT_VARIABLE]
  const budgetMb = raw === undefined ? defaultBudgetMb() : parseMemoryLimitMb(raw)
  if (budgetMb === undefined || budgetMb < MIN_MEMORY_LIMIT_MB || heapLimitBytes <= 1.25 * budgetMb * MIB) return undefined
  return [...execArgv, `--max-old-space-size=${heapLimitMb(budgetMb)}`]
}
