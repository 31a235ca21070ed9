// Summarises a `node --cpu-prof` profile: the functions with the most self time, and total time by file.
// Usage: node bench/profile-top.ts FILE.cpuprofile [N]
import { readFileSync } from "node:fs"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
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
const label = (n: ProfileNode) => `${n.callFrame.functionName || "(anonymous)"} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`
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
for (const [k, us] of tally((n) => shortUrl(n.callFrame.url) || n.callFrame.functionName).slice(0, 25)) console.log(`${pct(us)}  ${k}`)
