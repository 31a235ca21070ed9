// `npm start`, the container image, the demo and the benchmark all run meshsight with the same node flags.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { serviceNodeFlags } from "../../scripts/start-command.ts"

const projectFile = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8")

describe("start command", () => {
  it("reads npm start's node flags: a small young generation, external memory in V8's global limit, a 48 MiB first heap limit", () => {
    expect(serviceNodeFlags).toEqual(["--max-semi-space-size=8", "--external-memory-accounted-in-global-limit", "--initial-heap-size=48"])
  })

  it("the container image starts meshsight as npm start does", () => {
    const cmd = /^CMD (\[.*\])$/m.exec(projectFile("Dockerfile"))?.[1]
    expect(JSON.parse(cmd ?? "null")).toEqual(["node", ...serviceNodeFlags, "dist/main.js"])
  })
})
