// How numbers read in the UI: "—" where there is nothing to show.
const NONE = "—"

const trim = (n: number, digits: number) => Number(n.toFixed(digits)).toLocaleString("en-US")

export const fmtCpm = (n: number | undefined) => (n === undefined ? NONE : trim(n, n < 10 ? 2 : 1))
export const fmtMs = (n: number | undefined) => (n === undefined ? NONE : n >= 1000 ? `${trim(n / 1000, 2)} s` : `${trim(n, 1)} ms`)
export const fmtPct = (n: number | undefined) => (n === undefined ? NONE : `${trim(n, 2)} %`)
export const fmtRatio = (n: number | null | undefined) => (n === null || n === undefined ? NONE : trim(n, 3))
export const fmtCount = (n: number | undefined) => (n === undefined ? NONE : trim(n, 0))
export const fmtMiB = (bytes: number | null | undefined) =>
  bytes === null || bytes === undefined ? NONE : `${trim(bytes / 1048576, 1)} MiB`
export const fmtClock = (ms: number) => new Date(ms).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" })

const BYTE_UNITS = ["B", "kB", "MB", "GB", "TB"] as const

/** Bytes in SI units (1 kB = 1 000 B), as the rates read. */
export const fmtBytes = (n: number | undefined) => {
  if (n === undefined) return NONE
  let unit = 0
  let v = n
  while (v >= 1000 && unit < BYTE_UNITS.length - 1) {
    v /= 1000
    unit++
  }
  return `${trim(v, v < 10 && unit > 0 ? 2 : 1)} ${BYTE_UNITS[unit]}`
}
/** A per-minute byte count as bytes per second. */
export const fmtBytesPerSec = (perMinute: number | undefined) => (perMinute === undefined ? NONE : `${fmtBytes(perMinute / 60)}/s`)
export const fmtNs = (n: number | null | undefined) =>
  n === null || n === undefined ? NONE : n >= 1e6 ? fmtMs(n / 1e6) : `${trim(n / 1000, 1)} µs`
