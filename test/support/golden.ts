// Golden files: a whole output compared with the copy kept in test/testdata/golden/. Run the tests with
// MESHSIGHT_UPDATE_GOLDEN=1 to rewrite the copies instead (then review the diff before committing).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { expect } from "vitest"

export const GOLDEN_DIR = fileURLToPath(new URL("../testdata/golden/", import.meta.url))

const updating = process.env.MESHSIGHT_UPDATE_GOLDEN === "1"

/** Keys sorted at every level and `undefined` written as `null`, so a file's text depends only on the value. */
const stable = (value: unknown): unknown => {
  if (value === undefined) return null
  if (Array.isArray(value)) return value.map(stable)
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, stable((value as Record<string, unknown>)[k])])
    )
  }
  return value
}

export const stableJson = (value: unknown): string => `${JSON.stringify(stable(value), null, 2)}\n`

/** Compares `value` with test/testdata/golden/`file`, or rewrites that file under MESHSIGHT_UPDATE_GOLDEN=1. */
export const expectGolden = (file: string, value: unknown): void => {
  const path = `${GOLDEN_DIR}${file}`
  const actual = stableJson(value)
  if (updating) {
    mkdirSync(GOLDEN_DIR, { recursive: true })
    writeFileSync(path, actual)
    console.log(`MESHSIGHT_UPDATE_GOLDEN=1: rewrote ${path}`)
    return
  }
  if (!existsSync(path)) throw new Error(`no golden file ${path}: MESHSIGHT_UPDATE_GOLDEN=1 writes it`)
  const golden = readFileSync(path, "utf8")
  expect(actual, `${file} (MESHSIGHT_UPDATE_GOLDEN=1 rewrites it after a deliberate change)`).toBe(golden)
}
