// MESHSIGHT_MEMORY_LIMIT_MB's values, in plain synchronous code: read at process start by ./heap-relaunch.ts
// (before Effect is loaded) and by the configuration (./budget.ts), so the two agree on every value.

export const MEMORY_LIMIT_VARIABLE = "MESHSIGHT_MEMORY_LIMIT_MB"
export const MIN_MEMORY_LIMIT_MB = 64
export const MAX_MEMORY_LIMIT_MB = 1_048_576
export const MEMORY_LIMIT_EXPECTED = `whole MiB from ${MIN_MEMORY_LIMIT_MB} to ${MAX_MEMORY_LIMIT_MB}`

/** The budget a value asks for, in MiB; undefined when it is not a whole number in range (as the other numeric settings read numbers). */
export const parseMemoryLimitMb = (raw: string): number | undefined => {
  const mb = raw.trim() === "" ? Number.NaN : Number(raw)
  return Number.isInteger(mb) && mb >= MIN_MEMORY_LIMIT_MB && mb <= MAX_MEMORY_LIMIT_MB ? mb : undefined
}

/**
 * The `--max-old-space-size` (MiB) a budget of `budgetMb` runs under: the budget itself. V8's heap holds retained
 * data and ~40 MiB of start-up objects; the rest is room for garbage. What lives outside the old space (young
 * generation: 3 × 8 MiB semi-spaces with npm start's flags, code, grpc-js's buffers) comes on top.
 */
export const heapLimitMb = (budgetMb: number): number => budgetMb
