// MESHSIGHT_ALLOCATOR: by default meshsight starts itself again with jemalloc preloaded when the library is
// installed (`npm test`'s pretest installs Debian's libjemalloc2), so the message buffers grpc-js frees go back to
// the system instead of staying as holes in glibc's heap; `system` keeps glibc's malloc.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import {
  allocatorProblem,
  allocatorRelaunchEnv,
  DEFAULT_MALLOC_CONF,
  findJemalloc,
  jemallocCandidates,
  parseAllocator
} from "../../src/memory/allocator.ts"
import { runMeshsightToExit, spawnMeshsight } from "../../testkit/meshsight-process.ts"
import { childPids } from "../../testkit/child-pids.ts"

const LIBRARY = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
const found = () => LIBRARY
const none = () => undefined

/** Whether jemalloc is mapped into process `pid`. */
const runsJemalloc = (pid: number) => readFileSync(`/proc/${pid}/maps`, "utf8").includes("libjemalloc")

describe("the allocator decision at start", () => {
  it("preloads jemalloc when found, keeping the operator's preloads and jemalloc options", () => {
    expect(allocatorRelaunchEnv({ PATH: "/bin" }, undefined, found)).toEqual({
      PATH: "/bin",
      LD_PRELOAD: LIBRARY,
      MALLOC_CONF: DEFAULT_MALLOC_CONF
    })
    expect(
      allocatorRelaunchEnv({ MESHSIGHT_ALLOCATOR: " JEMALLOC ", LD_PRELOAD: "/opt/x.so", MALLOC_CONF: "narenas:2" }, undefined, found)
    ).toEqual({
      MESHSIGHT_ALLOCATOR: " JEMALLOC ",
      LD_PRELOAD: `${LIBRARY}:/opt/x.so`,
      MALLOC_CONF: "narenas:2"
    })
  })

  it("goes on as it is with `system`, with jemalloc already loaded, without a loadable library, or with a value the configuration refuses", () => {
    expect(allocatorRelaunchEnv({ MESHSIGHT_ALLOCATOR: "system" }, undefined, found)).toBeUndefined()
    expect(allocatorRelaunchEnv({}, LIBRARY, found)).toBeUndefined()
    expect(allocatorRelaunchEnv({}, undefined, none)).toBeUndefined()
    expect(allocatorRelaunchEnv({ MESHSIGHT_ALLOCATOR: "tcmalloc" }, undefined, found)).toBeUndefined()
    // Preloaded once already and still not mapped (a library ld.so cannot load): no second restart, no loop.
    expect(allocatorRelaunchEnv({ LD_PRELOAD: `${LIBRARY}:/opt/x.so` }, undefined, found)).toBeUndefined()
  })

  it("reads the values in any case and looks for the library where distributions install it", () => {
    expect(["auto", "Jemalloc", " system"].map(parseAllocator)).toEqual(["auto", "jemalloc", "system"])
    expect(parseAllocator("glibc")).toBeUndefined()
    expect(jemallocCandidates("x64")[0]).toBe(LIBRARY)
    expect(jemallocCandidates("arm64")[0]).toBe("/usr/lib/aarch64-linux-gnu/libjemalloc.so.2")
    expect(jemallocCandidates("riscv64")).not.toContain(LIBRARY)
    expect(findJemalloc((p) => p === "/usr/lib64/libjemalloc.so.2")).toBe("/usr/lib64/libjemalloc.so.2")
    expect(findJemalloc(() => false)).toBeUndefined()
  })

  it("refuses `jemalloc` only when it is not loaded", () => {
    expect(allocatorProblem("jemalloc", undefined)).toContain("apt-get install libjemalloc2")
    expect(allocatorProblem("jemalloc", LIBRARY)).toBeUndefined()
    expect(allocatorProblem("auto", undefined)).toBeUndefined()
  })
})

describe("a real start", () => {
  it("runs on jemalloc by default, in the same process, and says so", async () => {
    expect(findJemalloc(), "libjemalloc2 is installed (npm test's pretest)").toBeDefined()
    const app = await spawnMeshsight()
    try {
      expect(runsJemalloc(app.child.pid!)).toBe(true)
      expect(app.output()).toContain(`malloc: jemalloc (${findJemalloc()}) (MESHSIGHT_ALLOCATOR)`)
    } finally {
      await app.stop()
    }
  })

  it("keeps the system's malloc with MESHSIGHT_ALLOCATOR=system", async () => {
    const app = await spawnMeshsight({ MESHSIGHT_ALLOCATOR: "system" })
    try {
      expect(runsJemalloc(app.child.pid!)).toBe(false)
      expect(app.output()).toContain("malloc: the system's (MESHSIGHT_ALLOCATOR)")
    } finally {
      await app.stop()
    }
  })

  it("runs every worker process on jemalloc too", { timeout: 60_000 }, async () => {
    const app = await spawnMeshsight({ MESHSIGHT_WORKERS: "2", MESHSIGHT_ALLOCATOR: "jemalloc" })
    try {
      const workers = childPids(app.child.pid!)
      expect(workers).toHaveLength(2)
      for (const pid of [app.child.pid!, ...workers]) expect(runsJemalloc(pid), `pid ${pid}`).toBe(true)
    } finally {
      await app.stop()
    }
  })

  it("stops with one line on a value it does not know", async () => {
    const { code, output } = await runMeshsightToExit({ MESHSIGHT_ALLOCATOR: "tcmalloc" })
    expect(code).toBe(1)
    expect(output.trim()).toBe('meshsight: invalid MESHSIGHT_ALLOCATOR="tcmalloc": expected auto, jemalloc or system')
  })
})
