// The Errors tab in headless Chromium against a real meshsight (mx-mesh + persistence) fed sidecar traffic with
// known failures over gRPC: the service and relation views list exactly the failed calls; a row opens the drawer.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Browser, Page } from "playwright-core"
import { setTimeout as sleep } from "node:timers/promises"
import { getJson } from "../support/http-json.ts"
import { startMeshsightAsync } from "../support/meshsight.ts"
import { launchBrowser, openPage, screenshot, waitForState } from "./support/browser.ts"
import { ensureUiBuilt } from "./support/build-ui.ts"
import { sendMeshTraffic } from "./support/mesh-traffic.ts"

const rowsOf = (page: Page) =>
  page.$$eval('#errors-panel [data-table="error-logs"] tbody tr', (trs) =>
    trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent))
  )

const goto = async (page: Page, hash: string) => {
  await page.evaluate((h) => (location.hash = h), hash)
  await waitForState(page, "ready")
}

describe("the Errors tab", () => {
  let app: Awaited<ReturnType<typeof startMeshsightAsync>>
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    await ensureUiBuilt()
    ;[app, browser] = await Promise.all([
      startMeshsightAsync({ config: { MESHSIGHT_HTTP_ANALYZERS: "mx-mesh,persistence" } }),
      launchBrowser()
    ])
    await sendMeshTraffic(app.alsPort, [
      { from: "frontend.shop", to: "cart.shop", count: 20, latencyMs: 20, path: "/cart" },
      { from: "cart.shop", to: "billing.payments", count: 20, errors: 3, latencyMs: 15, path: "/charge" }
    ])
    // Each failed call is logged by both sidecars: three logs filed under cart, three under billing.
    for (let i = 0; (await getJson(app.url, "/api/logs")).body.logs.length < 6; i++) {
      if (i > 100) throw new Error("the error logs never became queryable")
      await sleep(100)
    }
    page = await openPage(browser, app.url)
    // The first render of the topology can take a while when other browser tests share the machine.
    await waitForState(page, "ready", 45_000)
  })
  afterAll(async () => {
    await browser?.close()
    await app?.stop()
  })

  it("a service's tab lists the failures its proxy reported; a row opens the detail drawer", async () => {
    await goto(page, "#/service/billing.payments")
    expect(await page.isVisible("#overview-panel")).toBe(true)
    await page.click("#errors-tab")
    await page.waitForSelector('#errors-panel [data-table="error-logs"] tbody tr')
    expect(await page.isVisible("#overview-panel")).toBe(false)
    const rows = await rowsOf(page)
    expect(rows.map((r) => [r[1], r[2], r[3], r[4]])).toStrictEqual(Array(3).fill(["server", "cart.shop", "GET /charge", "503"]))
    await page.click('#errors-panel [data-table="error-logs"] tbody tr')
    await page.waitForSelector("#error-log-drawer:not([hidden])")
    const details = await page.$$eval("#error-log-drawer dt", (dts) =>
      Object.fromEntries(dts.map((dt) => [dt.textContent!.trim(), dt.nextElementSibling!.textContent]))
    )
    expect(details["Response code"]).toBe("503")
    expect(details["Reported by"]).toBe("billing.payments (billing-v1-0), sidecar, server side")
    expect(details.Source).toBe("cart.shop (cart-v1-0)")
    expect(details.TLS).toBe("NONE")
    await screenshot(page, "errors-drawer")
    await page.click("#close-drawer")
    expect(await page.isVisible("#error-log-drawer")).toBe(false)
  })

  it("a relation's tab shows both proxies' logs; the chosen tab outlives refreshes; a healthy service has none", async () => {
    await goto(page, "#/relation/cart.shop/billing.payments")
    await page.waitForSelector('#errors-panel [data-table="error-logs"] tbody tr')
    const sides = (await rowsOf(page)).map((r) => r[1]).sort()
    expect(sides).toStrictEqual(["client", "client", "client", "server", "server", "server"])
    const before = await page.evaluate(() => window.__meshsight.refreshes)
    await page.click("#refresh")
    await page.waitForFunction((n) => window.__meshsight.refreshes > n, before)
    await page.waitForSelector('#errors-panel [data-table="error-logs"] tbody tr')
    expect(await page.isVisible("#errors-panel")).toBe(true)
    await goto(page, "#/service/frontend.shop")
    await page.waitForSelector('#errors-panel [data-message="no-errors"]')
    await page.click("#overview-tab")
    expect(await page.isVisible("#overview-panel")).toBe(true)
  })
})
