// How numbers read in the UI: "—" where there is nothing to show.
const NONE = "—"

const trim = (n: number, digits: number) => Number(n.toFixed(digits)).toLocaleString("en-US")

export const fmtCpm = (n: number | undefined) => (n === undefined ? NONE : trim(n, n < 10 ? 2 : 1))
export const fmtMs = (n: number | undefined) => (n === undefined ? NONE : n >= 1000 ? `${trim(n / 1000, 2)} s` : `${trim(n, 1)} ms`)
export const fmtPct = (n: number | undefined) => (n === undefined ? NONE : `${trim(n, 2)} %`)
export const fmtRatio = (n: number | null | undefined) => (n === null || n === undefined ? NONE : trim(n, 3))
export const fmtCount = (n: number | undefined) => (n === undefined ? NONE : trim(n, 0))
export const fmtMiB = (bytes: number | null | undefined) => (bytes === null || bytes === undefined ? NONE : `${trim(bytes / 1048576, 1)} MiB`)
export const fmtClock = (ms: number) => new Date(ms).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" })
