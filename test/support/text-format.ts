// A small reader for the protobuf text format, enough for the captured MetricsService message in
// test/testdata/skywalking/envoy-metric.msg (protobufjs reads only .proto and JSON): `#` comments, `field: scalar`,
// `field { … }` / `field: { … }`, `field [ {…}, {…} ]` lists, `,` / `;` separators, double-quoted strings, numbers
// and enum names. The parsed fields are typed by a protobufjs Type and handed to its `fromObject`. A singular
// field given twice keeps the last value, as protobuf-java's TextFormat does by default (the capture's metadata map
// entry lists two key/value pairs in one entry: it reads as `skywalking: "iscool"`). `renames` maps a field name
// the text uses to the proto's: the capture lists each family's metrics under `metrics`, where the client model's
// field is `metric` (4), which protobuf-java's parser would refuse.
import protobuf from "protobufjs"

type TextValue = string | number | { readonly text: string } | TextMessage
type TextMessage = Array<readonly [string, TextValue]>

const tokenize = (text: string): Array<string> => {
  const tokens: Array<string> = []
  const re = /\s+|#[^\n]*|("(?:[^"\\]|\\.)*")|([{}[\]:,;])|([^\s{}[\]:,;"#]+)/gy
  let m: RegExpExecArray | null
  while (re.lastIndex < text.length && (m = re.exec(text)) !== null) {
    const token = m[1] ?? m[2] ?? m[3]
    if (token !== undefined) tokens.push(token)
  }
  if (re.lastIndex < text.length) throw new Error(`text format: cannot read at offset ${re.lastIndex}`)
  return tokens
}

const parseMessage = (tokens: Array<string>, at: { i: number }, close: string | undefined): TextMessage => {
  const fields: TextMessage = []
  for (;;) {
    const token = tokens[at.i++]
    if (token === close) return fields
    if (token === undefined) throw new Error("text format: unexpected end")
    if (token === "," || token === ";") continue
    const name = token
    if (tokens[at.i] === ":") at.i++
    const next = tokens[at.i++]
    if (next === "{") fields.push([name, parseMessage(tokens, at, "}")])
    else if (next === "[") {
      for (;;) {
        const t = tokens[at.i++]
        if (t === "]") break
        if (t === ",") continue
        if (t === "{") fields.push([name, parseMessage(tokens, at, "}")])
        else fields.push([name, scalar(t)])
      }
    } else fields.push([name, scalar(next)])
  }
}

const scalar = (token: string): TextValue =>
  token.startsWith('"')
    ? (JSON.parse(token) as string)
    : /^[-+]?(\d|\.\d|inf|nan)/i.test(token)
      ? Number(token.replace(/^([-+]?)inf(inity)?$/i, "$1Infinity"))
      : { text: token }

const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/** The parsed fields as `type`'s object form (for `type.fromObject`). */
const toObject = (type: protobuf.Type, message: TextMessage, renames: Renames): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [written, value] of message) {
    const name = renames[`${type.fullName.slice(1)}.${written}`] ?? written
    const field = type.fields[camel(name)]
    if (field === undefined) throw new Error(`text format: ${type.fullName} has no field ${name}`)
    field.resolve()
    const converted = (v: TextValue): unknown => {
      if (field.resolvedType instanceof protobuf.Type) {
        if (!Array.isArray(v)) throw new Error(`text format: ${name} must be a message`)
        return toObject(field.resolvedType, v, renames)
      }
      return typeof v === "object" && !Array.isArray(v) ? v.text : v
    }
    if (field.map) {
      const entry = value as TextMessage
      const key = entry.filter(([k]) => k === "key").at(-1)?.[1] as string
      const entryValue = entry.filter(([k]) => k === "value").at(-1)?.[1]
      const map = (out[field.name] ??= {}) as Record<string, unknown>
      map[key] = entryValue === undefined ? {} : converted(entryValue)
    } else if (field.repeated) ((out[field.name] ??= []) as Array<unknown>).push(converted(value))
    else out[field.name] = converted(value)
  }
  return out
}

/** `package.Message.written_name` → the proto's field name. */
type Renames = Readonly<Record<string, string>>

/** Reads a text-format message as `type` and encodes it with protobufjs. */
export const encodeTextFormat = (type: protobuf.Type, text: string, renames: Renames = {}): Uint8Array => {
  const tokens = tokenize(text)
  const message = parseMessage(tokens, { i: 0 }, undefined)
  return type.encode(type.fromObject(toObject(type, message, renames))).finish()
}
