// The web UI in headless Chromium under meshsight's security settings: with an API token file the page asks for a
// token, keeps it for the tab and then shows the mesh; the Content-Security-Policy blocks nothing the UI needs; a
// malformed URL shows a message, never a blank page.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Browser, Page } from "playwright-core"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { startMeshsightAsync } from "../support/meshsight.ts"
import { launchBrowser, screenshot, waitForState } from "./support/browser.ts"
import { ensureUiBuilt } from "./support/build-ui.ts"
import { sendMeshTraffic } from "./support/mesh-traffic.ts"

const TOKEN = "ui-test-token-7f3a"

describe("web UI security", () => {
  let app: Awaited<ReturnType<typeof startMeshsightAsync>>
  let browser: Browser
  let dir: string
  /** Console errors and page errors per page (CSP violations are reported as console errors). */
  const problems: Array<string> = []

  const open = async (hash: string): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } })
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()))
    page.on("pageerror", (e) => problems.push(e.message))
    await page.goto(`${app.url}/${hash}`)
    return page
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "meshsight-ui-token-"))
    writeFileSync(join(dir, "tokens"), `# UI users\n${TOKEN}\n`)
    await ensureUiBuilt()
    ;[app, browser] = await Promise.all([
      startMeshsightAsync({ config: { MESHSIGHT_API_TOKEN_FILE: join(dir, "tokens") } }),
      launchBrowser()
    ])
    await sendMeshTraffic(app.alsPort, [{ from: "frontend.shop", to: "cart.shop", count: 10, latencyMs: 20 }])
    for (let i = 0; ; i++) {
      const res = await fetch(`${app.url}/api/topology`, { headers: { authorization: `Bearer ${TOKEN}` } })
      if (((await res.json()) as { edges: Array<unknown> }).edges.length > 0) break
      if (i > 100) throw new Error("traffic never became queryable")
      await sleep(100)
    }
  })
  afterAll(async () => {
    await browser?.close()
    await app?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it("asks for the API token, rejects a wrong one, then shows the topology and keeps the token across reloads", async () => {
    problems.length = 0
    const page = await open("")
    await waitForState(page, "unauthorized")
    await page.fill("#api-token", "not-the-token")
    await page.click("form[data-message=unauthorized] button")
    await waitForState(page, "unauthorized")
    expect(await page.textContent("form[data-message=unauthorized]")).toContain("not accepted")
    await page.fill("#api-token", TOKEN)
    await page.click("form[data-message=unauthorized] button")
    await waitForState(page, "ready")
    expect((await page.evaluate(() => window.__meshsight.graph())).nodes.map((n) => n.id).sort()).toEqual(["cart.shop", "frontend.shop"])
    await screenshot(page, "security-token-accepted")
    await page.reload()
    await waitForState(page, "ready")
    // 401s are logged by Chromium as failed resources; anything else (a CSP violation, a script error) is a failure.
    expect(problems.filter((p) => !p.includes("401"))).toStrictEqual([])
    await page.close()
  })

  it("survives malformed URLs: a bad percent-escape in a service name shows the not-found message", async () => {
    problems.length = 0
    const page = await open("")
    await waitForState(page, "unauthorized")
    await page.fill("#api-token", TOKEN)
    await page.click("form[data-message=unauthorized] button")
    await waitForState(page, "ready")
    for (const hash of ["#/service/%E0%A4%A", "#/relation/%/%ZZ", "#/%%%?range=%", "#/service/%E0%A4%A?ns=%G0"]) {
      await page.evaluate((h) => (location.hash = h), hash)
      await page.waitForFunction(() => document.body.dataset.state !== "loading")
      const state = await page.evaluate(() => document.body.dataset.state)
      expect(["not-found", "ready"], hash).toContain(state)
      expect((await page.textContent("#view"))!.trim().length, hash).toBeGreaterThan(0)
    }
    await page.goto(`${app.url}/#/service/%E0%A4%A`)
    await waitForState(page, "not-found")
    expect(await page.textContent("[data-message=not-found]")).toContain("%E0%A4%A")
    await screenshot(page, "security-malformed-url")
    expect(problems.filter((p) => !p.includes("401") && !p.includes("404"))).toStrictEqual([])
    await page.close()
  })
})
