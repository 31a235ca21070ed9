// Strings taken from traffic (paths, authorities, node ids, metadata values, names) are kept to a bounded length:
// one 1 MiB request path would otherwise be retained in a memo, a series key and an entity, per distinct value.
// Longer strings are cut and end in TRUNCATION_MARK; the cuts are counted here and reported as
// meshsight_strings_truncated_total by the ingest pipeline (one read per batch, nothing per string).

/** The most UTF-8 bytes kept of a decoded string (longer URLs than this are rare: browsers and proxies cap near 8 KiB). */
export const MAX_STRING_BYTES = 4096
/** The most UTF-16 units kept of a name made from metadata (service, instance). */
export const MAX_NAME_CHARS = 1024
export const TRUNCATION_MARK = "…"

let truncated = 0

/** Counts one cut (the wire reader cuts its strings itself). */
export const countTruncation = (): void => {
  truncated++
}

/** The cuts since the last call. */
export const takeTruncations = (): number => {
  const n = truncated
  truncated = 0
  return n
}

/** `s`, or its first `max` UTF-16 units and the mark (not splitting a surrogate pair); counted. */
export const boundString = (s: string, max: number): string => {
  if (s.length <= max) return s
  truncated++
  let end = max
  const last = s.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  return s.slice(0, end) + TRUNCATION_MARK
}
