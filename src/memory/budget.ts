// The memory budget (MESHSIGHT_MEMORY_LIMIT_MB): what meshsight retains between messages — series, memo tables,
// the mx-mesh peer cache, per-stream state — is counted in estimated bytes, and past the budget's watermark new
// work is refused (new series, new streams) rather than taken on. The same idea as the OpenTelemetry Collector's
// memory_limiter and SkyWalking's heap watermark, but with estimates kept as data is retained instead of asking
// the GC: a check is a sum of a few numbers, cheap enough for every new series.
//
// How the budget maps onto the process (docs/security.md "Memory budget"):
// - V8's old space is given the budget (`--max-old-space-size`, see heapLimitMb), so V8 collects hard before the
//   process nears the budget, instead of letting garbage pile up to its own default of ~2-4 GiB.
// - Retained data may use RETAINED_SHARE of what the budget leaves above meshsight's own footprint (BASE_MB); the
//   rest is room for garbage between collections, messages in flight and query work. With estimates that run a
//   little under V8's real sizes, RSS stays within 1.5× the budget (test/memory/memory-budget.test.ts).
import { getHeapStatistics } from "node:v8"
import { Context, Effect, Layer, Schema, SchemaGetter } from "effect"
import type { MemoryMeter } from "../util/bounded-memo.ts"
import { setting, settingConfig } from "../util/setting.ts"
import {
  type Allocator,
  ALLOCATOR_EXPECTED,
  ALLOCATOR_VARIABLE,
  ALLOCATORS,
  allocatorProblem,
  loadedJemalloc,
  parseAllocator
} from "./allocator.ts"
import { defaultMemoryLimitMb } from "./container-limit.ts"
import { heapLimitMb, MEMORY_LIMIT_EXPECTED, MEMORY_LIMIT_VARIABLE, parseMemoryLimitMb } from "./memory-limit.ts"
import type { JsonValue } from "../domain/access-log.ts"

export const MIB = 1024 * 1024

export const MEMORY_PARTS = ["series", "memo", "peers", "streams"] as const
export type MemoryPart = (typeof MEMORY_PARTS)[number]

export type { MemoryMeter }

/**
 * What meshsight takes before it retains anything: ~110 MiB RSS measured idle (Node 24, npm start's flags, the
 * gRPC and HTTP servers up), ~120 MiB while gRPC messages of a few MiB are in flight.
 */
export const BASE_MB = 120
/** The share of the budget above BASE_MB that retained data may take before new work is refused. */
export const RETAINED_SHARE = 0.5
/** The least retained data is allowed, however small the budget. */
const MIN_RETAINED_BYTES = 8 * 1024 * 1024

/** Fixed shares of the budget for the byte-bounded caches (each starts over when full, so never refuses work). */
export const PEER_CACHE_SHARE = 0.04
export const ENDPOINT_MEMO_SHARE = 0.04

export interface MemoryBudgetShape {
  /** The whole budget, in bytes. */
  readonly limitBytes: number
  /** What retained data may use before new series and streams are refused: half of what is above BASE_MB. */
  readonly retainedLimitBytes: number
  readonly meter: (part: MemoryPart) => MemoryMeter
  /** Bytes counted over all parts. */
  readonly used: () => number
  /** Whether retained data has reached its limit: new series and streams are refused while it has. */
  readonly full: () => boolean
}

export const makeMemoryBudget = (limitBytes: number): MemoryBudgetShape => {
  const meters: Record<MemoryPart, MemoryMeter> = { series: { bytes: 0 }, memo: { bytes: 0 }, peers: { bytes: 0 }, streams: { bytes: 0 } }
  const retainedLimitBytes = Math.max(MIN_RETAINED_BYTES, (limitBytes - BASE_MB * MIB) * RETAINED_SHARE)
  const used = () => meters.series.bytes + meters.memo.bytes + meters.peers.bytes + meters.streams.bytes
  return { limitBytes, retainedLimitBytes, meter: (part) => meters[part], used, full: () => used() >= retainedLimitBytes }
}

/** No limit: for embedding and tests that are not about memory (counts still add up). */
export const unlimitedBudget = (): MemoryBudgetShape => makeMemoryBudget(Number.POSITIVE_INFINITY)

export class MemoryBudget extends Context.Service<MemoryBudget, MemoryBudgetShape>()("meshsight/MemoryBudget") {}

/** 0 (unset): the container's memory limit when there is one, else 1024 MiB (./container-limit.ts). */
export const memoryLimitMb = setting({
  names: [MEMORY_LIMIT_VARIABLE],
  schema: Schema.String.check(Schema.makeFilter((s: string) => parseMemoryLimitMb(s) !== undefined)).pipe(
    Schema.decodeTo(Schema.Number, {
      decode: SchemaGetter.transform((s: string) => parseMemoryLimitMb(s)!),
      encode: SchemaGetter.transform((mb: number) => String(mb))
    })
  ),
  expected: MEMORY_LIMIT_EXPECTED,
  default: 0
})

/** The malloc meshsight runs on (./allocator.ts decides at start; `jemalloc` is refused here when it is not loaded). */
export const allocator = setting({
  names: [ALLOCATOR_VARIABLE],
  schema: Schema.String.check(Schema.makeFilter((s: string) => parseAllocator(s) !== undefined)).pipe(
    Schema.decodeTo(Schema.Literals(ALLOCATORS), {
      decode: SchemaGetter.transform((s: string) => parseAllocator(s)!),
      encode: SchemaGetter.transform((a: string) => a)
    })
  ),
  expected: ALLOCATOR_EXPECTED,
  default: "auto" as Allocator,
  validate: (wanted) => allocatorProblem(wanted, loadedJemalloc())
})

const budgetMb = Effect.map(settingConfig(memoryLimitMb), (mb) => mb || defaultMemoryLimitMb())

export const MemoryBudgetLive = Layer.effect(
  MemoryBudget,
  Effect.map(budgetMb, (mb) => makeMemoryBudget(mb * MIB))
)

/** Logs the budget against V8's heap limit, and the allocator; built last (src/app.ts), so a failed start-up says only why. */
export const MemoryBudgetLog = Layer.effectDiscard(
  Effect.gen(function* () {
    const limitMb = yield* budgetMb
    const heapMb = Math.round(getHeapStatistics().heap_size_limit / MIB)
    const jemalloc = loadedJemalloc()
    yield* Effect.logInfo(
      `memory budget ${limitMb} MiB (MESHSIGHT_MEMORY_LIMIT_MB); V8 heap limit ${heapMb} MiB; ` +
        (jemalloc === undefined ? "malloc: the system's" : `malloc: jemalloc (${jemalloc})`) +
        ` (${ALLOCATOR_VARIABLE})`
    )
    // V8 sizes its heap from the machine, not the container: with a heap far above the budget, garbage may pile
    // up past the budget between collections. (The limit V8 reports adds the young generation to the old space.)
    if (heapMb > limitMb * 1.25) {
      yield* Effect.logWarning(
        `V8's heap limit (${heapMb} MiB) is above the memory budget (${limitMb} MiB): start node with ` +
          `--max-old-space-size=${heapLimitMb(limitMb)} (or NODE_OPTIONS) so the process stays within it`
      )
    }
  })
)

/**
 * Estimated bytes a decoded JSON value retains: two bytes a character, ~40 bytes a string or number slot, ~60 an
 * object or array (V8's headers and property slots, rounded up). Stops counting past `cap` (returns more than it).
 */
export const jsonWeight = (value: JsonValue, cap: number): number => {
  let total = 0
  const stack: Array<JsonValue> = [value]
  while (stack.length > 0 && total <= cap) {
    const v = stack.pop()!
    if (typeof v === "string") total += 40 + 2 * v.length
    else if (v === null || typeof v !== "object") total += 40
    else if (Array.isArray(v)) {
      total += 60
      for (const x of v as ReadonlyArray<JsonValue>) stack.push(x)
    } else {
      total += 60
      for (const [k, x] of Object.entries(v)) {
        total += 40 + 2 * k.length
        stack.push(x)
      }
    }
  }
  return total
}
