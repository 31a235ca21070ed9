import { describe, expect, it } from "vitest"
import { BoundedMemo } from "../../src/util/bounded-memo.ts"

describe("BoundedMemo", () => {
  it("keeps at most its limit, starting over when a new key finds it full; updating a kept key does not", () => {
    const memo = new BoundedMemo<string, number>(3)
    for (const [k, v] of [
      ["a", 1],
      ["b", 2],
      ["c", 3]
    ] as const)
      expect(memo.set(k, v)).toBe(v)
    memo.set("a", 10)
    expect([memo.size, memo.get("a"), memo.get("c")]).toEqual([3, 10, 3])
    memo.set("d", 4)
    expect([memo.size, memo.get("a"), memo.get("d")]).toEqual([1, undefined, 4])
  })
})
