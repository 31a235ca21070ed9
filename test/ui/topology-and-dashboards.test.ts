// The web UI in headless Chromium against a real meshsight fed generated sidecar traffic over gRPC: the graph's
// services, relations and health, time range, namespace filter and search, dashboards, thresholds, and the
// empty, unknown-service and unreachable-API states. Screenshots go to test-results/ui-screenshots/.
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type { Browser, Page } from "playwright-core"
import { setTimeout as sleep } from "node:timers/promises"
import { getJson } from "../support/http-json.ts"
import { startMeshsightAsync } from "../support/meshsight.ts"
import { launchBrowser, openPage, screenshot, waitForState } from "./support/browser.ts"
import { ensureUiBuilt } from "./support/build-ui.ts"
import { type Call, sendMeshTraffic } from "./support/mesh-traffic.ts"

const RECENT: ReadonlyArray<Call> = [
  { from: "frontend.shop", to: "cart.shop", count: 40, latencyMs: 20, path: "/cart", serverPod: 0 },
  { from: "frontend.shop", to: "cart.shop", count: 20, latencyMs: 30, path: "/cart/items", serverPod: 1 },
  { from: "frontend.shop", to: "catalog.shop", count: 30, latencyMs: 40, path: "/items" },
  { from: "cart.shop", to: "billing.payments", count: 20, errors: 10, latencyMs: 15, path: "/charge" },
  { from: "catalog.shop", to: "db.storage", count: 10, latencyMs: 3000, path: "/query" }
]
/** Seen 40 minutes ago only: outside the default 15 minutes. */
const OLD: ReadonlyArray<Call> = [{ from: "legacy.shop", to: "archive.shop", count: 5, latencyMs: 10, agoMs: 40 * 60_000 }]

type Snapshot = ReturnType<Window["__meshsight"]["graph"]>
const graphOf = (page: Page): Promise<Snapshot> => page.evaluate(() => window.__meshsight.graph())
const ids = (s: Snapshot) => s.nodes.map((n) => n.id).sort()
const healthById = (s: Snapshot) => Object.fromEntries(s.nodes.map((n) => [n.id, n.health]))
const goto = async (page: Page, hash: string, state = "ready") => {
  await page.evaluate((h) => (location.hash = h), hash)
  await waitForState(page, state)
}
/** Waits until the view rendered after the current one (a refresh or a navigation). */
const nextRender = async (page: Page, act: () => Promise<unknown>, state = "ready") => {
  const before = await page.evaluate(() => window.__meshsight.refreshes)
  await act()
  await page.waitForFunction((n) => window.__meshsight.refreshes > n, before)
  await waitForState(page, state)
}

describe("web UI", () => {
  let app: Awaited<ReturnType<typeof startMeshsightAsync>>
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    await ensureUiBuilt()
    ;[app, browser] = await Promise.all([startMeshsightAsync(), launchBrowser()])
    await sendMeshTraffic(app.alsPort, [...RECENT, ...OLD])
    // The aggregator flushes every second: wait until the API has every relation.
    for (let i = 0; (await getJson(app.url, `/api/topology?start=${Date.now() - 3_600_000}`)).body.edges.length < 5; i++) {
      if (i > 100) throw new Error("traffic never became queryable")
      await sleep(100)
    }
    page = await openPage(browser, app.url)
  })
  afterAll(async () => {
    await browser?.close()
    await app?.stop()
  })

  it("draws the last 15 minutes' services and relations, coloured by health", async () => {
    await waitForState(page, "ready")
    const graph = await graphOf(page)
    assert.deepStrictEqual(ids(graph), ["billing.payments", "cart.shop", "catalog.shop", "db.storage", "frontend.shop"])
    assert.deepStrictEqual(graph.edges.map((e) => `${e.source}->${e.target}`).sort(), [
      "cart.shop->billing.payments",
      "catalog.shop->db.storage",
      "frontend.shop->cart.shop",
      "frontend.shop->catalog.shop"
    ])
    // billing answers half its calls with 503, db takes 3 s; frontend only calls others (no server side).
    assert.deepStrictEqual(healthById(graph), {
      "billing.payments": "critical",
      "cart.shop": "healthy",
      "catalog.shop": "healthy",
      "db.storage": "critical",
      "frontend.shop": "unknown"
    })
    const cart = graph.nodes.find((n) => n.id === "cart.shop")!
    assert.approximately(cart.cpm, 60 / 15, 0.01)
    const billingEdge = graph.edges.find((e) => e.target === "billing.payments")!
    assert.strictEqual(billingEdge.health, "critical")
    assert.match(billingEdge.label, /50 % err/)
    assert.strictEqual(await page.textContent("#graph-summary"), "5 services · 4 relations")
    await screenshot(page, "topology")
  })

  it("shows what happened in a longer time range once it is chosen", async () => {
    await nextRender(page, () => page.selectOption("#range", "60"))
    assert.include(page.url(), "range=60")
    assert.includeMembers(ids(await graphOf(page)), ["archive.shop", "legacy.shop", "cart.shop"])
    await nextRender(page, () => page.selectOption("#range", "15"))
    assert.notInclude(ids(await graphOf(page)), "legacy.shop")
  })

  it("filters by namespace and dims what the search does not match", async () => {
    await nextRender(page, () => page.selectOption("#namespace", "payments"))
    const payments = await graphOf(page)
    assert.deepStrictEqual(payments.nodes.map((n) => [n.id, n.outside]).sort(), [["billing.payments", false], ["cart.shop", true]])
    await nextRender(page, () => page.selectOption("#namespace", ""))
    await page.fill("#search", "cat")
    const searched = await graphOf(page)
    assert.deepStrictEqual(searched.nodes.filter((n) => !n.dimmed).map((n) => n.id), ["catalog.shop"])
    assert.deepStrictEqual(searched.edges.filter((e) => !e.dimmed).map((e) => e.source + "->" + e.target).sort(), [
      "catalog.shop->db.storage",
      "frontend.shop->catalog.shop"
    ])
    await page.fill("#search", "")
    assert.isTrue((await graphOf(page)).nodes.every((n) => !n.dimmed))
  })

  it("opens a service's dashboard on a click: charts, instances, endpoints, status codes, neighbours", async () => {
    const cart = (await graphOf(page)).nodes.find((n) => n.id === "cart.shop")!
    await nextRender(page, () => page.mouse.click(cart.x, cart.y))
    assert.match(page.url(), /#\/service\/cart\.shop$/)
    assert.strictEqual(await page.textContent("#service-name"), "cart.shop")
    const charts = await page.evaluate(() => window.__meshsight.charts)
    assert.deepStrictEqual(charts.map((c) => c.title), ["Calls per minute", "Latency (ms)", "Success rate (%)", "Apdex"])
    for (const chart of charts) assert.isTrue(chart.series.every((s) => s.points > 0), chart.title)
    assert.strictEqual(await page.locator(".chart canvas").count(), 4)
    const column = (table: string, n: number) => page.locator(`[data-table="${table}"] tbody td:nth-child(${n})`).allTextContents()
    assert.deepStrictEqual(await column("instances", 1), ["cart-v1-0", "cart-v1-1"]) // by calls/min, most first
    await page.click('[data-table="instances"] th:has-text("Instance")')
    await page.click('[data-table="instances"] th:has-text("Instance")')
    assert.deepStrictEqual(await column("instances", 1), ["cart-v1-1", "cart-v1-0"]) // by name, descending
    assert.deepStrictEqual((await column("endpoints", 1)).sort(), ["GET:/cart", "GET:/cart/items"])
    assert.deepStrictEqual(await column("status-codes", 1), ["200"])
    assert.deepStrictEqual(await column("upstream", 1), ["frontend.shop"])
    assert.deepStrictEqual(await column("downstream", 1), ["billing.payments"])
    await screenshot(page, "service-dashboard")
  })

  it("shows a relation's client- and server-side metrics when its edge is clicked", async () => {
    await goto(page, "#/")
    const edge = (await graphOf(page)).edges.find((e) => e.target === "billing.payments")!
    await nextRender(page, () => page.mouse.click(edge.x, edge.y))
    assert.match(page.url(), /#\/relation\/cart\.shop\/billing\.payments$/)
    const row = (label: string) => page.locator(`[data-table="relation"] tr:has(th:text-is("${label}")) td`).allTextContents()
    assert.deepStrictEqual(await row("Calls"), ["20", "20"])
    assert.deepStrictEqual(await row("Success rate"), ["50 %", "50 %"])
    const charts = await page.evaluate(() => window.__meshsight.charts)
    assert.deepStrictEqual(charts[0]!.series.map((s) => s.label), ["client cpm", "server cpm"])
    await screenshot(page, "relation")
  })

  it("recolours with thresholds changed in the UI and keeps them across reloads", async () => {
    await goto(page, "#/")
    await page.click("#thresholds-toggle")
    await nextRender(page, async () => {
      await page.fill('input[name="latencyCritMs"]', "5000")
      await page.dispatchEvent("#thresholds", "change")
    })
    assert.strictEqual(healthById(await graphOf(page))["db.storage"], "warning")
    await page.reload()
    await waitForState(page, "ready")
    assert.strictEqual(healthById(await graphOf(page))["db.storage"], "warning")
    await page.evaluate(() => localStorage.clear())
  })

  it("says so for an unknown service", async () => {
    await goto(page, "#/service/nope.default", "not-found")
    assert.include(await page.textContent('[data-message="not-found"]'), "Unknown service: nope.default")
    await screenshot(page, "unknown-service")
  })

  it("explains an empty meshsight and an unreachable API", async () => {
    const empty = await startMeshsightAsync()
    let stopped = false
    try {
      const emptyPage = await openPage(browser, empty.url)
      await waitForState(emptyPage, "empty")
      const hint = await emptyPage.textContent('[data-message="empty"]')
      assert.include(hint, "npm run demo")
      assert.include(hint, "11800")
      await screenshot(emptyPage, "empty")
      await empty.stop()
      stopped = true
      await nextRender(emptyPage, () => emptyPage.click("#refresh"), "error")
      assert.isTrue(await emptyPage.isVisible("#banner"))
      assert.include(await emptyPage.textContent("#banner"), "cannot be reached")
      await screenshot(emptyPage, "api-unreachable")
    } finally {
      if (!stopped) await empty.stop()
    }
  })
})
