// The topology's layout (ui/src/layered-layout.ts) without a browser: namespaces laid out apart, so that their
// boxes do not overlap, callers left of callees inside a namespace, and the same picture on every run.
import { describe, expect, it } from "@effect/vitest"
import { groupedLayout } from "../../ui/src/layered-layout.ts"

const mesh = () => {
  const nodes = Array.from({ length: 60 }, (_, i) => ({ name: `s${i}`, group: `ns-${i % 4}` }))
  const edges = Array.from({ length: 120 }, (_, i) => ({ source: `s${(i * 7) % 60}`, target: `s${(i * 13 + 1) % 60}` }))
  return { nodes, edges }
}

describe("grouped layout", () => {
  it("keeps each namespace's services in a region of its own", () => {
    const { nodes, edges } = mesh()
    const positions = groupedLayout(nodes, edges)
    expect(positions.size).toBe(nodes.length)
    const boxes = [...new Set(nodes.map((n) => n.group))].map((g) => {
      const ps = nodes.filter((n) => n.group === g).map((n) => positions.get(n.name)!)
      return {
        g,
        minX: Math.min(...ps.map((p) => p.x)),
        maxX: Math.max(...ps.map((p) => p.x)),
        minY: Math.min(...ps.map((p) => p.y)),
        maxY: Math.max(...ps.map((p) => p.y))
      }
    })
    for (const a of boxes) {
      for (const b of boxes) {
        if (a === b) continue
        // Apart by more than the room a box takes around its services (node, label, title).
        const apart = a.maxX + 100 < b.minX || b.maxX + 100 < a.minX || a.maxY + 100 < b.minY || b.maxY + 100 < a.minY
        expect(apart, `${a.g} and ${b.g} overlap`).toBe(true)
      }
    }
  })

  it("places a caller left of the services it calls within its namespace, and is deterministic", () => {
    const nodes = [
      { name: "gw", group: "a" },
      { name: "api", group: "a" },
      { name: "db", group: "a" },
      { name: "other", group: "b" }
    ]
    const edges = [
      { source: "gw", target: "api" },
      { source: "api", target: "db" },
      { source: "db", target: "other" }
    ]
    const positions = groupedLayout(nodes, edges)
    expect(positions.get("gw")!.x).toBeLessThan(positions.get("api")!.x)
    expect(positions.get("api")!.x).toBeLessThan(positions.get("db")!.x)
    expect([...groupedLayout(nodes, edges)]).toStrictEqual([...positions])
  })

  it("places a group that calls another before it, whatever their names", () => {
    const nodes = [
      { name: "db", group: "a-data" },
      { name: "web", group: "z-front" }
    ]
    const positions = groupedLayout(nodes, [{ source: "web", target: "db" }])
    expect(positions.get("web")!.x).toBeLessThan(positions.get("db")!.x)
  })
})
