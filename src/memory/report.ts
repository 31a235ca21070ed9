// The budget's gauges, set on the aggregator's flush beat (once a second): /metrics shows the budget and its use.
import { Effect, Metric } from "effect"
import { memoryBudgetBytes, memoryUsedBytes } from "../telemetry.ts"
import { MEMORY_PARTS, type MemoryBudgetShape } from "./budget.ts"

const usedBy = MEMORY_PARTS.map((part) => [part, Metric.withAttributes(memoryUsedBytes, { part })] as const)

export const reportMemory = (budget: MemoryBudgetShape) =>
  Effect.gen(function* () {
    if (Number.isFinite(budget.limitBytes)) yield* Metric.update(memoryBudgetBytes, budget.limitBytes)
    for (const [part, gauge] of usedBy) yield* Metric.update(gauge, Math.max(0, Math.round(budget.meter(part).bytes)))
  })
