// Name templates, as SkyWalking's service/instance naming rules: text with `${…}` placeholders. A placeholder is a
// comma-separated list of paths; the first that names a non-empty value wins. A path is dot-separated; a segment
// that itself holds dots is quoted, `LABELS."app.kubernetes.io/name"` (mx-mesh style) or
// `labels.(service.istio.io/canonical-name)` (SkyWalking's k8s style).
// A template whose placeholder finds no value fails as a whole (→ `undefined`), so callers can fall back.

export type TemplateVars = { readonly [k: string]: unknown }
export type NameTemplate = (vars: TemplateVars) => string | undefined

/** An analyzer's naming rules (SkyWalking's service and instance name rules), each over that analyzer's variables. */
export interface Naming {
  readonly service: NameTemplate
  readonly instance: NameTemplate
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

const lookup = (vars: TemplateVars, path: Path): string => {
  let v: unknown = vars
  for (const segment of path) {
    if (v === null || typeof v !== "object") return ""
    v = (v as Record<string, unknown>)[segment]
  }
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : ""
}

/** Parses a template once; throws TemplateSyntaxError with the reason. */
export const compileTemplate = (template: string): NameTemplate => {
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
  // Joined, not concatenated: names are kept per workload, and V8 keeps a `+=`-built string as a tree of its parts.
  return (vars) => {
    const out: Array<string> = []
    for (const part of parts) {
      if (typeof part === "string") {
        out.push(part)
        continue
      }
      let value = ""
      for (const path of part) {
        value = lookup(vars, path)
        if (value !== "") break
      }
      if (value === "") return undefined
      out.push(value)
    }
    return out.join("")
  }
}
