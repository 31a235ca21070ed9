// Which malloc the process runs on (MESHSIGHT_ALLOCATOR), in plain synchronous code: decided at process start by
// ./relaunch-at-start.ts, before Effect is loaded, and checked again by the configuration (./budget.ts).
//
// Why jemalloc: grpc-js joins each message's HTTP/2 frames into a new Buffer (~69 KiB for a 100-entry ALS
// message). glibc serves that size from its brk heap, and what V8's GC frees there stays resident as holes that
// are never given back (~80 MiB after a load). jemalloc reuses such extents and returns idle ones to the system
// after a decay, without an mmap and munmap per message (glibc's MALLOC_MMAP_THRESHOLD_ costs 3–13 % CPU).
// Measured in docs/performance.md ("Memory").
import { existsSync, readFileSync } from "node:fs"

export const ALLOCATOR_VARIABLE = "MESHSIGHT_ALLOCATOR"
export const ALLOCATORS = ["auto", "jemalloc", "system"] as const
export type Allocator = (typeof ALLOCATORS)[number]
export const ALLOCATOR_EXPECTED = "auto, jemalloc or system"

/** The allocator a value asks for (any case, spaces around ignored); undefined for any other value. */
export const parseAllocator = (raw: string): Allocator | undefined => {
  const value = raw.trim().toLowerCase()
  return ALLOCATORS.find((a) => a === value)
}

/** Debian's and Ubuntu's multiarch folder for this architecture. */
const MULTIARCH: Readonly<Record<string, string>> = { x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" }

/** Where Linux distributions install jemalloc's shared library (Debian/Ubuntu `libjemalloc2`, Fedora, Alpine, source builds). */
export const jemallocCandidates = (arch: string = process.arch): Array<string> => [
  ...(MULTIARCH[arch] === undefined ? [] : [`/usr/lib/${MULTIARCH[arch]}/libjemalloc.so.2`]),
  "/usr/lib64/libjemalloc.so.2",
  "/usr/lib/libjemalloc.so.2",
  "/usr/local/lib/libjemalloc.so.2"
]

/** The first jemalloc library found, if any. */
export const findJemalloc = (exists: (path: string) => boolean = existsSync): string | undefined => jemallocCandidates().find(exists)

/** The jemalloc library mapped into this process (preloaded by meshsight or by the operator), if any (Linux). */
export const loadedJemalloc = (): string | undefined => {
  let maps: string
  try {
    maps = readFileSync("/proc/self/maps", "utf8")
  } catch {
    return undefined
  }
  return /\s(\/\S*libjemalloc[^/\s]*)$/m.exec(maps)?.[1]
}

/**
 * jemalloc's options unless the operator sets MALLOC_CONF: a background thread returns idle memory to the system
 * on jemalloc's decay schedule even while no allocation happens (an idle server keeps the memory of its last load
 * otherwise).
 */
export const DEFAULT_MALLOC_CONF = "background_thread:true"

/**
 * The environment to start again with so that jemalloc is preloaded, or undefined when the process may go on as it
 * is: `system` asked for, jemalloc already loaded, none found or found but not loadable (then `auto` runs on the
 * system's malloc and `jemalloc` is refused by the configuration), or a value the configuration will refuse.
 */
export const allocatorRelaunchEnv = (
  env: NodeJS.ProcessEnv,
  loaded: string | undefined,
  find: () => string | undefined = findJemalloc
): NodeJS.ProcessEnv | undefined => {
  const raw = env[ALLOCATOR_VARIABLE]
  const wanted = raw === undefined ? "auto" : parseAllocator(raw)
  if (wanted === undefined || wanted === "system" || loaded !== undefined) return undefined
  const library = find()
  // Already preloaded and still not mapped: ld.so could not load it (it said why on stderr); starting again would loop.
  if (library === undefined || (env.LD_PRELOAD ?? "").split(/[:\s]+/).includes(library)) return undefined
  const preload = env.LD_PRELOAD === undefined || env.LD_PRELOAD.trim() === "" ? library : `${library}:${env.LD_PRELOAD}`
  return { ...env, LD_PRELOAD: preload, MALLOC_CONF: env.MALLOC_CONF ?? DEFAULT_MALLOC_CONF }
}

/** Why `jemalloc` cannot be honoured in this process, or undefined when it is (or another value is set). */
export const allocatorProblem = (wanted: Allocator, loaded: string | undefined): string | undefined =>
  wanted === "jemalloc" && loaded === undefined
    ? `jemalloc is not loaded: no library at ${jemallocCandidates().join(", ")} (Debian and Ubuntu: apt-get install libjemalloc2), and none preloaded (LD_PRELOAD)`
    : undefined
