// Name templates, as SkyWalking's service/instance naming rules: text with `${…}` placeholders. A placeholder is a
// comma-separated list of paths; the first that names a non-empty value wins. A path is dot-separated; a segment
// that itself holds dots is quoted, `LABELS."app.kubernetes.io/name"` (mx-mesh style) or
// `labels.(service.istio.io/canonical-name)` (SkyWalking's k8s style).
// By default a template whose placeholder finds no value fails as a whole (→ `undefined`), so callers can fall
// back (k8s-mesh: to the Service's name). `TemplateOptions` switch on the behaviour of SkyWalking's FieldsHelper,
// which mx-mesh's metadata rules follow.

import { NonEmpty, setting } from "../util/setting.ts"

export type TemplateVars = { readonly [k: string]: unknown }
export type NameTemplate = (vars: TemplateVars) => string | undefined

/** An analyzer's naming rules (SkyWalking's service and instance name rules), each over that analyzer's variables. */
export interface Naming {
  readonly service: NameTemplate
  readonly instance: NameTemplate
}

/**
 * How a template reads its variables. Defaults: keys match exactly; a placeholder that finds nothing fails.
 * SkyWalking's FieldsHelper (its `metadata-service-mapping` rules) matches metadata keys case-insensitively and
 * writes `-` for a field it cannot find (and treats a `-` value as not found).
 */
export interface TemplateOptions {
  /** Match a path segment exactly first, then ignoring case (`${NAME}` reads Istio ≥ 1.24's `name`). */
  readonly ignoreKeyCase?: boolean
  /**
   * Write this for a placeholder that finds nothing, instead of failing; the template still fails (→ `undefined`)
   * when none of its placeholders finds a value. A value equal to it counts as not found.
   */
  readonly missing?: string
}

export class TemplateSyntaxError extends Error {
  override readonly name = "TemplateSyntaxError"
}

type Path = ReadonlyArray<string>
type Part = string | ReadonlyArray<Path>

const parsePath = (src: string, template: string): Path => {
  const segments: Array<string> = []
  let i = 0
  const fail = (why: string) => {
    throw new TemplateSyntaxError(`${why} in "${src}" of template ${template}`)
  }
  while (i < src.length) {
    let segment: string
    const c = src[i]
    if (c === '"' || c === "(") {
      const close = src.indexOf(c === '"' ? '"' : ")", i + 1)
      if (close < 0) fail(`unclosed ${c}`)
      segment = src.slice(i + 1, close)
      i = close + 1
    } else {
      let j = i
      while (j < src.length && src[j] !== ".") j++
      segment = src.slice(i, j)
      i = j
    }
    if (segment === "") fail("empty path segment")
    segments.push(segment)
    if (i < src.length) {
      if (src[i] !== ".") fail(`unexpected "${src[i]}"`)
      i++
      if (i === src.length) fail("path ends with a dot")
    }
  }
  if (segments.length === 0) fail("empty path")
  return segments
}

/** Splits a placeholder body on commas that are outside quotes and parentheses. */
const splitAlternatives = (body: string): Array<string> => {
  const out: Array<string> = []
  let depth = 0
  let quoted = false
  let start = 0
  for (let i = 0; i < body.length; i++) {
    const c = body[i]
    if (c === '"') quoted = !quoted
    else if (!quoted && c === "(") depth++
    else if (!quoted && c === ")") depth--
    else if (!quoted && depth === 0 && c === ",") {
      out.push(body.slice(start, i).trim())
      start = i + 1
    }
  }
  out.push(body.slice(start).trim())
  return out
}

const text = (v: unknown): string => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "")

const lookup = (vars: TemplateVars, path: Path): string => {
  let v: unknown = vars
  for (const segment of path) {
    if (v === null || typeof v !== "object") return ""
    v = (v as Record<string, unknown>)[segment]
  }
  return text(v)
}

/** The own key of `object` equal to `lower` ignoring case, if any (only asked after the exact key missed). */
const keyIgnoringCase = (object: object, lower: string): string | undefined => {
  for (const key of Object.keys(object)) if (key.toLowerCase() === lower) return key
  return undefined
}

/**
 * `lookup` with each segment matched exactly, else ignoring case. Templates run once per stream (node metadata)
 * and once per distinct peer value, so the scan on a miss stays off the per-entry path.
 */
const lookupIgnoringCase = (vars: TemplateVars, path: Path, lowerPath: Path): string => {
  let v: unknown = vars
  for (let i = 0; i < path.length; i++) {
    if (v === null || typeof v !== "object") return ""
    const object = v as Record<string, unknown>
    const key = Object.hasOwn(object, path[i]) ? path[i] : keyIgnoringCase(object, lowerPath[i])
    if (key === undefined) return ""
    v = object[key]
  }
  return text(v)
}

/** Parses a template once; throws TemplateSyntaxError with the reason. */
export const compileTemplate = (template: string, options: TemplateOptions = {}): NameTemplate => {
  const parts: Array<Part> = []
  let i = 0
  while (i < template.length) {
    const open = template.indexOf("${", i)
    if (open < 0) {
      parts.push(template.slice(i))
      break
    }
    if (open > i) parts.push(template.slice(i, open))
    // find the matching "}" outside quotes
    let j = open + 2
    let quoted = false
    while (j < template.length && (quoted || template[j] !== "}")) {
      if (template[j] === '"') quoted = !quoted
      j++
    }
    if (j >= template.length) throw new TemplateSyntaxError(`unclosed \${ in template ${template}`)
    parts.push(splitAlternatives(template.slice(open + 2, j)).map((alt) => parsePath(alt, template)))
    i = j + 1
  }
  const missing = options.missing
  const ignoreKeyCase = options.ignoreKeyCase === true
  // Each placeholder's paths with their lower-cased twins, for the case-insensitive lookup.
  const compiled = parts.map((part) =>
    typeof part === "string" ? part : part.map((path) => ({ path, lower: path.map((s) => s.toLowerCase()) }))
  )
  const hasPlaceholder = compiled.some((part) => typeof part !== "string")
  // Joined, not concatenated: names are kept per workload, and V8 keeps a `+=`-built string as a tree of its parts.
  return (vars) => {
    const out: Array<string> = []
    let found = false
    for (const part of compiled) {
      if (typeof part === "string") {
        out.push(part)
        continue
      }
      let value = ""
      for (const { lower, path } of part) {
        value = ignoreKeyCase ? lookupIgnoringCase(vars, path, lower) : lookup(vars, path)
        if (value === missing) value = ""
        if (value !== "") break
      }
      if (value !== "") {
        found = true
        out.push(value)
      } else if (missing === undefined) return undefined
      else out.push(missing)
    }
    return hasPlaceholder && !found ? undefined : out.join("")
  }
}

/** A setting holding a name template: a template that does not compile stops start-up, naming the variable. */
export const templateSetting = (names: ReadonlyArray<string>, defaultRule: string) =>
  setting({
    names,
    schema: NonEmpty,
    expected: "a name template",
    default: defaultRule,
    validate: (rule) => {
      try {
        compileTemplate(rule)
        return undefined
      } catch (e) {
        return e instanceof TemplateSyntaxError ? e.message : String(e)
      }
    }
  })
