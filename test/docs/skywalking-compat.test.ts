// docs/skywalking-compat.md: every row names the test that pins meshsight's behaviour; that test must exist.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"

const root = new URL("../../", import.meta.url)
const doc = readFileSync(new URL("docs/skywalking-compat.md", root), "utf8")

/** The table's rows: `| # | … | test |`, numbered. */
const rows = doc.split("\n").filter((line) => /^\| \d+ \|/.test(line))

describe("docs/skywalking-compat.md", () => {
  it("has rows, each citing a test file and a test title in its last column", () => {
    expect(rows.length).toBeGreaterThanOrEqual(8)
    for (const row of rows) {
      const cells = row.split(" | ")
      expect(cells.at(-1), row).toMatch(/^`test\/[\w/.-]+\.test\.ts` › .+ \|$/)
    }
  })

  it("cites only tests that exist, by their exact title", () => {
    for (const row of rows) {
      const [, file, title] = /`(test\/[\w/.-]+\.test\.ts)` › (.+?) \|$/.exec(row)!
      const source = readFileSync(new URL(file, root), "utf8")
      expect(source.includes(`"${title}"`), `${file} has no test named "${title}"`).toBe(true)
    }
  })
})
