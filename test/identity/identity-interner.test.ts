import { describe, expect, it } from "vitest"
import type { WorkloadIdentity } from "../../src/domain/identity.ts"
import { identityKey, makeIdentityInterner } from "../../src/identity/identity-interner.ts"

const reviews: WorkloadIdentity = {
  service: "reviews.bookinfo",
  instance: "reviews-v2-55f-xyz",
  namespace: "bookinfo",
  labels: { app: "reviews", version: "v2" },
  workload: "reviews-v2"
}

describe("identity interner", () => {
  it("answers an equal identity with the first object, whatever order its labels came in", () => {
    const interner = makeIdentityInterner(1024 * 1024)
    const first = interner.intern(reviews)
    expect(first).toBe(reviews)
    expect(interner.intern({ ...reviews, labels: { version: "v2", app: "reviews" } })).toBe(reviews)
    expect(interner.size()).toBe(1)
  })

  it("keeps identities apart that differ in any field, an absent optional one included", () => {
    const variants: Array<WorkloadIdentity> = [
      reviews,
      { ...reviews, instance: "reviews-v2-55f-abc" },
      { ...reviews, namespace: "other" },
      { ...reviews, labels: { app: "reviews", version: "v3" } },
      { ...reviews, workload: "" },
      { service: reviews.service, instance: reviews.instance, namespace: reviews.namespace, labels: reviews.labels },
      { ...reviews, cluster: "east" },
      { ...reviews, principal: "spiffe://cluster.local/ns/bookinfo/sa/reviews" }
    ]
    expect(new Set(variants.map(identityKey)).size).toBe(variants.length)
    const interner = makeIdentityInterner(1024 * 1024)
    for (const v of variants) expect(interner.intern(v)).toBe(v)
    expect(interner.size()).toBe(variants.length)
  })

  it("is bounded by its byte estimate, counted in its meter, and starts over when full", () => {
    const meter = { bytes: 0 }
    const interner = makeIdentityInterner(4096, meter)
    interner.intern(reviews)
    expect(meter.bytes).toBeGreaterThan(0)
    for (let i = 0; i < 100; i++) interner.intern({ ...reviews, instance: `reviews-${i}` })
    expect(meter.bytes).toBeLessThanOrEqual(4096)
    expect(interner.size()).toBeLessThan(100)
    // Forgotten when the table started over: an equal identity is now a new object.
    const again = { ...reviews }
    expect(interner.intern(again)).toBe(again)
  })
})
