// Endpoint names: `METHOD:path` without the query string, the path grouped by its service's rules
// (endpoint-rules.ts). Named once per (service, method, path) and memoised: the analyze step runs per entry.
import { Context, Effect, Layer } from "effect"
import type { HttpAccessLog } from "../domain/access-log.ts"
import { type GroupingRules, groupPath, InvalidGroupingFile, NO_RULES, readGroupingRules, type ServiceRules } from "./endpoint-rules.ts"
import { ENDPOINT_MEMO_SHARE, MemoryBudget, type MemoryMeter } from "../memory/budget.ts"
import { BoundedMemo } from "../util/bounded-memo.ts"
import { NonEmpty, setting, settingConfig } from "../util/setting.ts"

export interface EndpointName {
  readonly name: string
  /** Named by a grouping rule: such names are bounded by the rules, so the per-service cap leaves them alone. */
  readonly grouped: boolean
}

export type EndpointNamer = (service: string, e: HttpAccessLog) => EndpointName

const NO_REQUEST: EndpointName = { name: "/", grouped: false }

/** Past this many paths per method the memo starts over. */
const MEMO_LIMIT = 50_000

/**
 * A memo entry retains its Map slot, name object and joined name (the path is the decoder's, already bounded to
 * MAX_STRING_BYTES): ~137 bytes measured with --expose-gc for a 9-character path, strings included; 120 fixed and
 * two bytes a character of path and name count a little over that.
 */
const memoWeight = (path: string, named: EndpointName) => 120 + 2 * (path.length + named.name.length)

/** The byte bound of each method's memo when none is given (no budget). */
const DEFAULT_MEMO_BOUND: MemoBound = { maxBytes: 32 * 1024 * 1024 }

export interface MemoBound {
  /** Per method (methods are Envoy's RequestMethod enum: a handful). */
  readonly maxBytes: number
  readonly meter?: MemoryMeter
}

type Memo = Map<string, BoundedMemo<string, EndpointName>>

/**
 * The memo is keyed by the decoder's interned method and path strings, and hands out the same name object for a
 * repeated endpoint: one flat string, cheap to hash downstream. Services without rules share one memo.
 */
export const makeEndpointNamer = (rules: GroupingRules, bound: MemoBound = DEFAULT_MEMO_BOUND): EndpointNamer => {
  const byteBound = { ...bound, weigh: memoWeight }
  const ungrouped: Memo = new Map()
  const perService = new Map<string, { readonly rules: ServiceRules; readonly memo: Memo }>()
  for (const [service, r] of rules.services) perService.set(service, { rules: r, memo: new Map() })

  const lookup = (memo: Memo, serviceRules: ServiceRules | undefined, e: HttpAccessLog): EndpointName => {
    let byPath = memo.get(e.method)
    if (byPath === undefined) memo.set(e.method, (byPath = new BoundedMemo(MEMO_LIMIT, byteBound)))
    let named = byPath.get(e.path)
    if (named === undefined) {
      const q = e.path.indexOf("?")
      const path = q < 0 ? e.path : e.path.slice(0, q)
      const group = serviceRules === undefined ? undefined : groupPath(serviceRules, e.method, path)
      // Joined, not concatenated: flat, not a cons string (entity.ts).
      named = { name: [e.method, group ?? path].join(":"), grouped: group !== undefined }
      byPath.set(e.path, named)
    }
    return named
  }

  return (service, e) => {
    if (!e.hasRequest) return NO_REQUEST
    const own = perService.size === 0 ? undefined : perService.get(service)
    return own === undefined ? lookup(ungrouped, undefined, e) : lookup(own.memo, own.rules, e)
  }
}

export class EndpointNaming extends Context.Service<EndpointNaming, EndpointNamer>()("meshsight/EndpointNaming") {}

/** SkyWalking's endpoint-name-grouping.yml format (./endpoint-rules.ts); unset: no grouping. */
export const endpointGroupingFile = setting({
  names: ["MESHSIGHT_ENDPOINT_GROUPING_FILE"],
  schema: NonEmpty,
  expected: "a file path",
  default: ""
})

/** The rules from MESHSIGHT_ENDPOINT_GROUPING_FILE, read once at start-up: a bad file stops start-up. */
export const EndpointNamingLive = Layer.effect(
  EndpointNaming,
  Effect.gen(function* () {
    const file = yield* settingConfig(endpointGroupingFile)
    const budget = yield* MemoryBudget
    // The methods' memos share the budget's share: a handful of methods see most traffic.
    const bound = { maxBytes: (budget.limitBytes * ENDPOINT_MEMO_SHARE) / 4, meter: budget.meter("memo") }
    if (file === "") return makeEndpointNamer(NO_RULES, bound)
    const rules = yield* Effect.try({
      try: () => readGroupingRules(file),
      catch: (e) => (e instanceof InvalidGroupingFile ? e : new InvalidGroupingFile({ file, reason: String(e) }))
    })
    yield* Effect.logInfo(`endpoint grouping: ${rules.ruleCount} rules for ${rules.services.size} services from ${file}`)
    if (rules.skipped.length > 0) {
      yield* Effect.logWarning(
        `endpoint grouping: ${rules.skipped.length} rules in ${file} skipped, they do not name an HTTP path (/path or METHOD:/path): ${rules.skipped.join("; ")}`
      )
    }
    return makeEndpointNamer(rules, bound)
  })
)
