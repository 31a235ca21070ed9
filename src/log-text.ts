// Text from the network (node ids, peer addresses, paths, metadata) goes into log lines through `printable`, so a
// value cannot forge a log line or move the terminal's cursor: control characters become visible escapes.

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides that reorder text.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

const escape = (c: string): string => {
  switch (c) {
    case "\n":
      return "\\n"
    case "\r":
      return "\\r"
    case "\t":
      return "\\t"
    default:
      return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`
  }
}

/** `value` with control characters written as escapes (`\n`, `\u001b`); a backslash stays as it is. */
export const printable = (value: string): string => value.replace(UNPRINTABLE, escape)
