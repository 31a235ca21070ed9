// Endpoint grouping rules (SkyWalking's endpoint-name-grouping.yml): per service, paths that name one operation
// with a variable part (`/reviews/123`, `/reviews/456`) are counted under one endpoint (`/reviews/{id}`).
//
// The file, SkyWalking's format plus its older regex form:
//   grouping:
//     - service-name: reviews.default
//       rules:
//         - /reviews/{id}                  # a `{name}` segment matches any one non-empty path segment
//         - GET:/reviews/{id}/ratings      # a `METHOD:` prefix limits a rule to that method
//         - endpoint-name: /products/{sku}
//           regex: /products/[A-Z]{3}-\d+  # matched against the whole path (no query string)
import { readFileSync } from "node:fs"
import { Schema } from "effect"
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from "yaml"

/** Start-up stops with this: one line naming the file, the line where known, and what is wrong. */
export class InvalidGroupingFile extends Schema.TaggedError<InvalidGroupingFile>()("InvalidGroupingFile", {
  file: Schema.String,
  line: Schema.optional(Schema.Number),
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid endpoint grouping file ${this.file}${this.line === undefined ? "" : `, line ${this.line}`}: ${this.reason}`
  }
}

/** One level of the `{name}` rules: a path segment each. A literal segment is tried before a placeholder. */
interface SegmentNode {
  readonly literal: Map<string, SegmentNode>
  variable: SegmentNode | undefined
  /** The rule's path (as written, without its method) when a rule ends here. */
  rule: string | undefined
}

interface RegexRule {
  readonly method: string | undefined
  readonly regex: RegExp
  readonly path: string
}

export interface ServiceRules {
  /** `{name}` rules by method; "" holds the rules for any method. */
  readonly templates: Map<string, SegmentNode>
  readonly regexes: Array<RegexRule>
}

export interface GroupingRules {
  readonly services: ReadonlyMap<string, ServiceRules>
  /** Rules that cannot name an HTTP path (e.g. a SkyWalking agent's `{GET}/x`), with their line: skipped. */
  readonly skipped: ReadonlyArray<string>
  readonly ruleCount: number
}

export const NO_RULES: GroupingRules = { services: new Map(), skipped: [], ruleCount: 0 }

const newNode = (): SegmentNode => ({ literal: new Map(), variable: undefined, rule: undefined })

/** `GET:/x` → method and path; `/x` → any method. Anything else is not a mesh endpoint's name. */
const METHOD_AND_PATH = /^(?:([A-Z]+):)?(\/.*)$/
const PLACEHOLDER = /^\{[^{}/]+\}$/

/** A path's segments for matching: one trailing slash is ignored (as SkyWalking does). */
export const segmentsOf = (path: string): Array<string> =>
  (path.length > 1 && path.endsWith("/") ? path.slice(1, -1) : path.slice(1)).split("/")

/** The rule path that names `path` (without query string) for `method`, or undefined. */
export const groupPath = (rules: ServiceRules, method: string, path: string): string | undefined => {
  if (rules.templates.size > 0) {
    const segments = segmentsOf(path)
    const byMethod = rules.templates.get(method)
    const found = (byMethod && matchFrom(byMethod, segments, 0)) ?? matchFrom(rules.templates.get(""), segments, 0)
    if (found !== undefined) return found
  }
  for (const r of rules.regexes) {
    if ((r.method === undefined || r.method === method) && r.regex.test(path)) return r.path
  }
  return undefined
}

const matchFrom = (node: SegmentNode | undefined, segments: ReadonlyArray<string>, i: number): string | undefined => {
  if (node === undefined) return undefined
  if (i === segments.length) return node.rule
  const literal = matchFrom(node.literal.get(segments[i]), segments, i + 1)
  if (literal !== undefined) return literal
  return segments[i] === "" ? undefined : matchFrom(node.variable, segments, i + 1)
}

class RuleError extends Error {
  readonly node: Node | null | undefined
  constructor(node: unknown, message: string) {
    super(message)
    this.node = node as Node | null | undefined
  }
}

const expectKeys = (map: YAMLMap, allowed: ReadonlyArray<string>, what: string) => {
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined
    if (key === undefined || !allowed.includes(key)) {
      throw new RuleError(pair.key, `unknown key ${JSON.stringify(key ?? "?")} in ${what} (expected ${allowed.join(", ")})`)
    }
  }
}

/** A non-empty string; a missing one is reported at the line of `parent`. */
const stringAt = (node: unknown, what: string, parent?: Node): string => {
  if (!isScalar(node) || typeof node.value !== "string" || node.value.trim() === "") {
    throw new RuleError(node ?? parent, `${what} must be a non-empty string`)
  }
  return node.value.trim()
}

/** Adds one rule to a service; returns false when the rule cannot name a mesh endpoint (skipped). */
const addRule = (rules: ServiceRules, item: Node): boolean => {
  if (isMap(item)) {
    expectKeys(item, ["endpoint-name", "regex"], "a regex rule")
    const name = stringAt(item.get("endpoint-name", true), "endpoint-name", item)
    const source = stringAt(item.get("regex", true), "regex", item)
    const m = METHOD_AND_PATH.exec(name)
    if (m === null) return false
    let regex: RegExp
    try {
      regex = new RegExp(`^(?:${source})$`)
    } catch (e) {
      throw new RuleError(item.get("regex", true) as Node, `regex ${JSON.stringify(source)} does not compile: ${(e as Error).message}`)
    }
    rules.regexes.push({ method: m[1], regex, path: m[2] })
    return true
  }
  const rule = stringAt(item, "a rule")
  const m = METHOD_AND_PATH.exec(rule)
  if (m === null) return false
  const [, method = "", path] = m
  let node = rules.templates.get(method)
  if (node === undefined) rules.templates.set(method, (node = newNode()))
  for (const segment of segmentsOf(path)) {
    if (PLACEHOLDER.test(segment)) node = node.variable ??= newNode()
    else if (segment.includes("{") || segment.includes("}")) {
      throw new RuleError(item, `rule ${JSON.stringify(rule)}: a {placeholder} must be a whole path segment`)
    } else {
      let next = node.literal.get(segment)
      if (next === undefined) node.literal.set(segment, (next = newNode()))
      node = next
    }
  }
  node.rule ??= path // the first of two rules that match the same paths wins
  return true
}

/** Compiles a grouping file's text; throws InvalidGroupingFile. */
export const parseGroupingRules = (file: string, text: string): GroupingRules => {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const lineOf = (offset: number | undefined) => (offset === undefined ? undefined : lines.linePos(offset).line)
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    throw new InvalidGroupingFile({ file, line: lineOf(e.pos[0]), reason: `not valid YAML: ${e.message.split("\n")[0]}` })
  }
  const services = new Map<string, ServiceRules>()
  const skipped: Array<string> = []
  let ruleCount = 0
  try {
    const root = doc.contents
    // An empty file (SkyWalking ships one with every line commented out) has no rules.
    if (root === null || (isScalar(root) && root.value === null)) return NO_RULES
    if (!isMap(root)) throw new RuleError(root, 'expected a mapping with the key "grouping"')
    expectKeys(root, ["grouping"], "the file")
    const grouping = root.get("grouping", true)
    if (grouping === undefined || (isScalar(grouping) && grouping.value === null)) return NO_RULES
    if (!isSeq(grouping)) throw new RuleError(grouping as Node, "grouping must be a list of {service-name, rules}")
    for (const entry of grouping.items) {
      if (!isMap(entry)) throw new RuleError(entry as Node, "each grouping entry must be a mapping with service-name and rules")
      expectKeys(entry, ["service-name", "rules"], "a grouping entry")
      const service = stringAt(entry.get("service-name", true), "service-name", entry)
      const list = entry.get("rules", true)
      if (list === undefined || (isScalar(list) && list.value === null)) continue
      if (!isSeq(list)) throw new RuleError(list as Node, `rules of ${service} must be a list`)
      let rules = services.get(service)
      if (rules === undefined) services.set(service, (rules = { templates: new Map(), regexes: [] }))
      for (const item of list.items) {
        if (addRule(rules, item as Node)) ruleCount++
        else skipped.push(`line ${lineOf((item as Node).range?.[0])}: ${JSON.stringify((item as Node).toJSON())}`)
      }
    }
  } catch (e) {
    if (!(e instanceof RuleError)) throw e
    throw new InvalidGroupingFile({ file, line: lineOf(e.node?.range?.[0]), reason: e.message })
  }
  return { services, skipped, ruleCount }
}

/** Reads and compiles a grouping file; throws InvalidGroupingFile. */
export const readGroupingRules = (file: string): GroupingRules => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (e) {
    throw new InvalidGroupingFile({ file, reason: `cannot be read: ${(e as Error).message}` })
  }
  return parseGroupingRules(file, text)
}
