// Endpoint names: `METHOD:path` without the query string, the path grouped by its service's rules
// (endpoint-rules.ts). Named once per (service, method, path) and memoised: the analyze step runs per entry.
import { Context, Effect, Layer } from "effect"
import type { HttpAccessLog } from "../domain/access-log.ts"
import { type GroupingRules, groupPath, InvalidGroupingFile, NO_RULES, readGroupingRules, type ServiceRules } from "./endpoint-rules.ts"
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

type Memo = Map<string, BoundedMemo<string, EndpointName>>

/**
 * The memo is keyed by the decoder's interned method and path strings, and hands out the same name object for a
 * repeated endpoint: one flat string, cheap to hash downstream. Services without rules share one memo.
 */
export const makeEndpointNamer = (rules: GroupingRules): EndpointNamer => {
  const ungrouped: Memo = new Map()
  const perService = new Map<string, { readonly rules: ServiceRules; readonly memo: Memo }>()
  for (const [service, r] of rules.services) perService.set(service, { rules: r, memo: new Map() })

  const lookup = (memo: Memo, serviceRules: ServiceRules | undefined, e: HttpAccessLog): EndpointName => {
    let byPath = memo.get(e.method)
    if (byPath === undefined) memo.set(e.method, (byPath = new BoundedMemo(MEMO_LIMIT)))
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
  Effect.gen(function*() {
    const file = yield* settingConfig(endpointGroupingFile)
    if (file === "") return makeEndpointNamer(NO_RULES)
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
    return makeEndpointNamer(rules)
  })
)
