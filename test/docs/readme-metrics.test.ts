// README's table of meshsight's own metrics names exactly the self-metrics the code registers (src/**: Metric.counter
// and Metric.gauge named meshsight_*, and telemetry.ts's own `counter`, which wraps Metric.counter), so the table
// cannot drift from telemetry.ts and its neighbours.
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const root = new URL("../../", import.meta.url).pathname

const sourceFiles = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  )

const registered = new Set(
  sourceFiles(join(root, "src")).flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(/(?:Metric\.(?:counter|gauge|histogram|summary)|\bcounter)\(\s*"(meshsight_[a-z_]+)"/g)].map(
      (m) => m[1]!
    )
  )
)

const readme = readFileSync(join(root, "README.md"), "utf8")
const section = readme.slice(readme.indexOf("### meshsight's own metrics"))
const table = section
  .slice(0, section.indexOf("\n#", 1))
  .split("\n")
  .filter((line) => line.startsWith("| `"))
const documented = new Set(table.flatMap((row) => [...row.split(" | ")[0]!.matchAll(/`(meshsight_[a-z_]+)/g)].map((m) => m[1]!)))

describe("README's self-metrics table", () => {
  it("lists every meshsight_* metric the code registers, and no other", () => {
    expect(registered.size).toBeGreaterThan(20)
    expect([...documented].sort()).toEqual([...registered].sort())
  })
})
