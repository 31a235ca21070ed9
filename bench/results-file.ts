// bench/results.json: `npm run bench` (run.ts) writes its figures there; the measurements run on their own
// (long-run.ts, connection-memory.ts) each write their part and keep the rest, and the full bench keeps theirs.
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const RESULTS_FILE = fileURLToPath(new URL("./results.json", import.meta.url))

/** The parts written by the measurements run on their own. */
const OWN_PARTS = ["longRun", "connectionMemory"] as const
type OwnPart = (typeof OWN_PARTS)[number]

const read = (): Record<string, unknown> =>
  existsSync(RESULTS_FILE) ? (JSON.parse(readFileSync(RESULTS_FILE, "utf8")) as Record<string, unknown>) : {}
const write = (results: Record<string, unknown>) => writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`)

/** Writes one measurement's part, keeping the rest of the file. */
export const writeResultsPart = (part: OwnPart, value: unknown): void => write({ ...read(), [part]: value })

/** Writes the full bench's figures, keeping the parts the other measurements wrote. */
export const writeBenchResults = (results: Record<string, unknown>): void => {
  const previous = read()
  write({ ...results, ...Object.fromEntries(OWN_PARTS.filter((p) => previous[p] !== undefined).map((p) => [p, previous[p]])) })
}
