// The API's time parameters are read strictly: decimal milliseconds only, and start before end as given.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
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
      expect(status, value).toBe(400)
      expect(error, value).toContain("expected milliseconds since the epoch, in decimal digits")
      expect(error, value).toContain("start")
    }
    const [badEnd, endError] = await answer("end=0x10")
    expect(badEnd).toBe(400)
    expect(endError).toContain("end")
  })

  it("start must be before end as given, not only after snapping to minutes", async () => {
    const now = Date.now()
    const minute = now - (now % 60_000)
    expect(await answer(`start=${minute + 1000}&end=${minute + 500}`)).toStrictEqual([
      400,
      `start (${minute + 1000}) must be before end (${minute + 500})`
    ])
    expect(await answer(`start=${minute}&end=${minute}`)).toStrictEqual([400, `start (${minute}) must be before end (${minute})`])
    expect((await fetch(`${app.url}/api/topology?start=${minute - 60_000}&end=${minute}`)).status).toBe(200)
    expect((await fetch(`${app.url}/api/topology?start=${minute + 500}&end=${minute + 1000}`)).status).toBe(200)
  })
})
