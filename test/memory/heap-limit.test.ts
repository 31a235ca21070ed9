// V8's heap follows the memory budget: a process whose heap limit is far above the budget starts itself again
// with --max-old-space-size from it, unless the operator chose one; under a small budget, without npm start's
// external-memory flag.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { EXTERNAL_IN_GLOBAL_LIMIT_FLAG, heapRelaunchFlags } from "../../src/memory/heap-relaunch.ts"
import { serviceNodeFlags } from "../../scripts/start-command.ts"
import { spawnMeshsight } from "../../testkit/meshsight-process.ts"

const MIB = 1024 * 1024
const machineHeap = 4288 * MIB
const oneGiB = () => 1024

describe("the heap limit follows the memory budget", () => {
  it("starts again with the budget as old space when V8's limit is well above it", () => {
    expect(heapRelaunchFlags({}, ["--max-semi-space-size=8"], machineHeap, oneGiB)).toEqual([
      "--max-semi-space-size=8",
      "--max-old-space-size=1024"
    ])
    expect(heapRelaunchFlags({ MESHSIGHT_MEMORY_LIMIT_MB: " 256 " }, [], machineHeap, oneGiB)).toEqual(["--max-old-space-size=256"])
  })

  it("under a budget below 512 MiB drops npm start's external-memory flag, with or without an explicit heap limit", () => {
    const npmStart = ["--max-semi-space-size=8", EXTERNAL_IN_GLOBAL_LIMIT_FLAG, "--initial-heap-size=48"]
    expect(heapRelaunchFlags({ MESHSIGHT_MEMORY_LIMIT_MB: "256" }, npmStart, machineHeap, oneGiB)).toEqual([
      "--max-semi-space-size=8",
      "--initial-heap-size=48",
      "--max-old-space-size=256"
    ])
    expect(heapRelaunchFlags({ MESHSIGHT_MEMORY_LIMIT_MB: "511" }, [...npmStart, "--max-old-space-size=300"], machineHeap, oneGiB)).toEqual(
      ["--max-semi-space-size=8", "--initial-heap-size=48", "--max-old-space-size=300"]
    )
    // From 512 MiB the flag stays; a heap that already fits then needs no restart.
    expect(heapRelaunchFlags({ MESHSIGHT_MEMORY_LIMIT_MB: "512" }, npmStart, 600 * MIB, oneGiB)).toBeUndefined()
    expect(heapRelaunchFlags({}, npmStart, machineHeap, oneGiB)).toEqual([...npmStart, "--max-old-space-size=1024"])
  })

  it("leaves an explicit limit, a fitting heap and a budget the configuration will refuse alone", () => {
    expect(heapRelaunchFlags({}, ["--max-old-space-size=2048"], machineHeap, oneGiB)).toBeUndefined()
    expect(heapRelaunchFlags({ NODE_OPTIONS: "--max-old-space-size=512" }, [], machineHeap, oneGiB)).toBeUndefined()
    expect(heapRelaunchFlags({}, [], 1100 * MIB, oneGiB)).toBeUndefined()
    expect(heapRelaunchFlags({ MESHSIGHT_MEMORY_LIMIT_MB: "lots" }, [], machineHeap, oneGiB)).toBeUndefined()
  })

  it("a real start with a 256 MiB budget runs under a heap limit that fits it, without the external-memory flag, with no warning", async () => {
    const app = await spawnMeshsight({ MESHSIGHT_MEMORY_LIMIT_MB: "256" })
    try {
      const execArgv = readFileSync(`/proc/${app.child.pid}/cmdline`, "utf8").split("\0")
      expect(execArgv).not.toContain(EXTERNAL_IN_GLOBAL_LIMIT_FLAG)
      expect(execArgv).toEqual(expect.arrayContaining(serviceNodeFlags.filter((f) => f !== EXTERNAL_IN_GLOBAL_LIMIT_FLAG)))
      const line = /memory budget 256 MiB \(MESHSIGHT_MEMORY_LIMIT_MB\); V8 heap limit (\d+) MiB/.exec(app.output())
      expect(line, app.output()).not.toBeNull()
      expect(Number(line![1])).toBeLessThanOrEqual(1.25 * 256)
      expect(app.output()).not.toContain("is above the memory budget")
    } finally {
      await app.stop()
    }
  })
})
