// V8 sizes its heap from the machine, not from the memory budget (a 24 GiB host gives ~4 GiB): garbage could pile
// up far past the budget between collections. So before anything else is loaded, a process whose heap limit is
// well above the budget starts itself again (./relaunch-at-start.ts) with `--max-old-space-size` set from the
// budget. An explicit --max-old-space-size (in the command or NODE_OPTIONS) is left alone, and so is a budget that
// does not parse: the configuration's own check reports that one.
//
// The same restart drops npm start's `--external-memory-accounted-in-global-limit` under a small budget. That flag
// lets message buffers wait for the heap's own collections instead of forcing one every ~64 MiB of them: less CPU
// per entry, but ~100–150 MiB of buffers can wait at once (measured with 2–15 MiB messages), too much for a
// budget of a few hundred MiB to stay within 1.5× (test/memory/memory-budget.test.ts; docs/performance.md).
import { defaultMemoryLimitMb } from "./container-limit.ts"
import { heapLimitMb, MEMORY_LIMIT_VARIABLE, MIN_MEMORY_LIMIT_MB, parseMemoryLimitMb } from "./memory-limit.ts"

const MIB = 1024 * 1024

export const EXTERNAL_IN_GLOBAL_LIMIT_FLAG = "--external-memory-accounted-in-global-limit"
/** Budgets below this run without EXTERNAL_IN_GLOBAL_LIMIT_FLAG. */
export const EXTERNAL_IN_GLOBAL_LIMIT_MIN_BUDGET_MB = 512

/** The flags to start again with, or undefined when the process may go on as it is. */
export const heapRelaunchFlags = (
  env: NodeJS.ProcessEnv,
  execArgv: ReadonlyArray<string>,
  heapLimitBytes: number,
  defaultBudgetMb: () => number = defaultMemoryLimitMb
): Array<string> | undefined => {
  const raw = env[MEMORY_LIMIT_VARIABLE]
  const budgetMb = raw === undefined ? defaultBudgetMb() : parseMemoryLimitMb(raw)
  if (budgetMb === undefined || budgetMb < MIN_MEMORY_LIMIT_MB) return undefined
  const explicit = [...execArgv, ...(env.NODE_OPTIONS ?? "").split(/\s+/)].some((f) => f.startsWith("--max-old-space-size"))
  const sizeHeap = !explicit && heapLimitBytes > 1.25 * budgetMb * MIB
  const dropExternal = budgetMb < EXTERNAL_IN_GLOBAL_LIMIT_MIN_BUDGET_MB && execArgv.includes(EXTERNAL_IN_GLOBAL_LIMIT_FLAG)
  if (!sizeHeap && !dropExternal) return undefined
  const kept = dropExternal ? execArgv.filter((f) => f !== EXTERNAL_IN_GLOBAL_LIMIT_FLAG) : [...execArgv]
  return sizeHeap ? [...kept, `--max-old-space-size=${heapLimitMb(budgetMb)}`] : kept
}
