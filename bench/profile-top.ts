// Summarises a `node --cpu-prof` profile: the functions with the most self time, and total time by file.
// Frames in a bundled file (dist/main.js) are named by their source (src/…) through the bundle's source map.
// Usage: node bench/profile-top.ts FILE.cpuprofile [N]
import { existsSync, readFileSync } from "node:fs"
import { SourceMap } from "node:module"
import { fileURLToPath } from "node:url"

interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
    readonly columnNumber: number
  }
  readonly children?: ReadonlyArray<number>
}
const profile = JSON.parse(readFileSync(process.argv[2], "utf8")) as {
  nodes: ReadonlyArray<ProfileNode>
  samples: ReadonlyArray<number>
  timeDeltas: ReadonlyArray<number>
}
const top = Number(process.argv[3] ?? 40)
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const selfUs = new Map<number, number>()
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
const total = [...selfUs.values()].reduce((a, b) => a + b, 0)

const sourceMaps = new Map<string, SourceMap | undefined>()
const sourceMapOf = (url: string) => {
  if (!sourceMaps.has(url)) {
    const mapFile = url.startsWith("file://") ? `${fileURLToPath(url)}.map` : ""
    sourceMaps.set(url, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, "utf8"))) : undefined)
  }
  return sourceMaps.get(url)
}
// The frame's place in its source: `src/…:LINE` for bundled code, the script's own URL and line otherwise.
const placeOf = ({ callFrame: { url, lineNumber, columnNumber } }: ProfileNode) => {
  // findEntry answers {} for a place no mapping covers.
  const entry = sourceMapOf(url)?.findEntry(lineNumber, columnNumber)
  return entry !== undefined && "originalSource" in entry && entry.originalSource !== undefined
    ? { url: entry.originalSource.replace(/^.*?\/(src|node_modules)\//, "$1/"), line: entry.originalLine + 1 }
    : { url, line: lineNumber + 1 }
}
const shortUrl = (url: string) => url.replace(/^file:\/\/.*?\/(node_modules|src|bench|sim)\//, "$1/").replace(/^node:/, "")
const tally = (key: (n: ProfileNode) => string) => {
  const out = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const k = key(byId.get(id)!)
    out.set(k, (out.get(k) ?? 0) + us)
  }
  return [...out].sort((a, b) => b[1] - a[1])
}
const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`

console.log(`total ${(total / 1e6).toFixed(2)} s sampled\n\nself time by function`)
const label = (n: ProfileNode) => {
  const { url, line } = placeOf(n)
  return `${n.callFrame.functionName || "(anonymous)"} ${shortUrl(url)}:${line}`
}
for (const [k, us] of tally(label).slice(0, top)) {
  console.log(`${pct(us)}  ${k}`)
}
// Inclusive time: a sample counts for every distinct function on its stack.
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const inclusive = new Map<string, number>()
for (const [id, us] of selfUs) {
  const seen = new Set<string>()
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) seen.add(label(byId.get(at)!))
  for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + us)
}
console.log("\ninclusive time by function")
for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`)
console.log("\nself time by file")
for (const [k, us] of tally((n) => shortUrl(placeOf(n).url) || n.callFrame.functionName).slice(0, top)) console.log(`${pct(us)}  ${k}`)
