// The API's time parameters are read strictly: decimal milliseconds only, and start before end as given.
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { startMeshsightAsync } from "../support/meshsight.ts"

describe("API time parameters", () => {
  let app: Awaited<ReturnType<typeof startMeshsightAsync>>
  beforeAll(async () => {
    app = await startMeshsightAsync()
  })
  afterAll(() => app?.stop())

  const answer = async (query: string) => {
    const res = await fetch(`${app.url}/api/topology?${query}`)
    return [res.status, ((await res.json()) as { error?: string }).error] as const
  }

  it("refuses what Number() would take but no client means: blanks, hex, exponents, signs, fractions", async () => {
    for (const value of ["%20", "", "0x10", "1e3", "-1", "%2B5", "1.5", "12abc", "99999999999999999"]) {
      const [status, error] = await answer(`start=${value}`)
      assert.strictEqual(status, 400, value)
      assert.include(error, "expected milliseconds since the epoch, in decimal digits", value)
      assert.include(error, "start", value)
    }
    const [badEnd, endError] = await answer("end=0x10")
    assert.strictEqual(badEnd, 400)
    assert.include(endError, "end")
  })

  it("start must be before end as given, not only after snapping to minutes", async () => {
    const now = Date.now()
    const minute = now - (now % 60_000)
    assert.deepStrictEqual(await answer(`start=${minute + 1000}&end=${minute + 500}`), [
      400,
      `start (${minute + 1000}) must be before end (${minute + 500})`
    ])
    assert.deepStrictEqual(await answer(`start=${minute}&end=${minute}`), [400, `start (${minute}) must be before end (${minute})`])
    assert.strictEqual((await fetch(`${app.url}/api/topology?start=${minute - 60_000}&end=${minute}`)).status, 200)
    assert.strictEqual((await fetch(`${app.url}/api/topology?start=${minute + 500}&end=${minute + 1000}`)).status, 200)
  })
})
