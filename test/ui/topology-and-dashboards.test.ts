// The web UI in headless Chromium against a real meshsight fed generated sidecar traffic over gRPC: the graph's
// services, namespaces, relations and health, the side panel, time range, namespace filter and search, the
// dashboards' figures against the API's, TCP, the proxy view, thresholds, and the empty, unknown-service and
// unreachable-API states. Screenshots at 1000 and 1920 px go to test-results/ui-screenshots/.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Browser, Page } from "playwright-core"
import { setTimeout as sleep } from "node:timers/promises"
import { freePort } from "../../scripts/ports.ts"
import type { MetricSummary, Topology } from "../../src/query/api-model.ts"
import { fmtBytesPerSec, fmtCpm, fmtPct } from "../../ui/src/format.ts"
import { getJson } from "../support/http-json.ts"
import { waitFor } from "../support/wait-for.ts"
import { startMeshsightAsync } from "../support/meshsight.ts"
import { launchBrowser, openPage, screenshot, screenshotWidths, waitForState, WIDTHS } from "./support/browser.ts"
import { ensureUiBuilt } from "./support/build-ui.ts"
import { type Call, sendMeshTraffic } from "./support/mesh-traffic.ts"
import { startPrometheus, type Tsdb } from "../../testkit/tsdb.ts"

const RECENT: ReadonlyArray<Call> = [
  { from: "frontend.shop", to: "cart.shop", count: 40, latencyMs: 20, path: "/cart", serverPod: 0 },
  { from: "frontend.shop", to: "cart.shop", count: 20, latencyMs: 30, path: "/cart/items", serverPod: 1 },
  { from: "frontend.shop", to: "catalog.shop", count: 30, latencyMs: 40, path: "/items" },
  { from: "cart.shop", to: "billing.payments", count: 20, errors: 10, latencyMs: 15, path: "/charge" },
  { from: "catalog.shop", to: "db.storage", count: 10, latencyMs: 3000, path: "/query" }
]
/** As in `npm run demo`: traffic over several minutes of the range, and a TCP database. */
const DEMO_LIKE: ReadonlyArray<Call> = [
  { from: "productpage.bookinfo", to: "reviews.bookinfo", count: 90, latencyMs: 25, agoMs: 30_000 },
  { from: "productpage.bookinfo", to: "reviews.bookinfo", count: 30, latencyMs: 35, agoMs: 90_000 },
  { from: "productpage.bookinfo", to: "reviews.bookinfo", count: 60, latencyMs: 45, agoMs: 150_000 },
  {
    from: "reviews.bookinfo",
    to: "mysql.bookinfo",
    count: 12,
    latencyMs: 40_000,
    agoMs: 30_000,
    tcp: { receivedBytes: 1_200, sentBytes: 48_000 }
  },
  {
    from: "reviews.bookinfo",
    to: "mysql.bookinfo",
    count: 4,
    latencyMs: 40_000,
    agoMs: 90_000,
    tcp: { receivedBytes: 1_200, sentBytes: 48_000 }
  }
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
const card = (page: Page, signal: string) => page.textContent(`[data-signal="${signal}"] dd`)
const charts = (page: Page) => page.evaluate(() => window.__meshsight.charts)
/** The mean of a chart series' points: what the range's per-minute figure must equal. */
const meanOfPoints = (values: ReadonlyArray<number | null>) => {
  const present = values.filter((v): v is number => v !== null)
  return present.reduce((a, b) => a + b, 0) / present.length
}

/**
 * The same UI over both storage modes: `prometheus` is a replica that writes each minute to a real Prometheus and
 * answers from it (docs/scale-out.md), so its data shows once the traffic's minutes are over.
 */
const MODES = ["memory", "prometheus"] as const

describe.each(MODES)("web UI (%s storage)", (mode) => {
  let tsdb: Tsdb | undefined
  let app: Awaited<ReturnType<typeof startMeshsightAsync>>
  let browser: Browser
  let page: Page
  const apiTopology = async (): Promise<Topology> => (await getJson(app.url, "/api/topology")).body
  const apiNode = async (name: string): Promise<MetricSummary> => (await apiTopology()).nodes.find((n) => n.name === name)!.metrics!

  beforeAll(async () => {
    await ensureUiBuilt()
    tsdb = mode === "prometheus" ? await startPrometheus([]) : undefined
    const storage = tsdb && {
      MESHSIGHT_STORAGE: "prometheus",
      MESHSIGHT_PROMETHEUS_URL: tsdb.url,
      MESHSIGHT_REMOTE_WRITE_URL: tsdb.writeUrl,
      MESHSIGHT_MINUTE_WRITE_GRACE_MS: "500",
      MESHSIGHT_MINUTE_WRITE_CHECK_MS: "200"
    }
    ;[app, browser] = await Promise.all([startMeshsightAsync({ config: { ...storage } }), launchBrowser()])
    const sent = [...RECENT, ...DEMO_LIKE, ...OLD]
    await sendMeshTraffic(app.alsPort, sent)
    // The aggregator flushes every second; a replica writes a minute once it is over, and what reaches it after
    // that write as one more sample of the minute: wait until the API has every relation and every call (traffic
    // sent across a minute's end is written in two parts, and the first part alone already shows all relations).
    const total = (calls: ReadonlyArray<Call>) => calls.reduce((n, c) => n + c.count, 0)
    /** Requests and TCP connections the services' own series hold, against what was sent. */
    const counted = (t: Topology) => [
      t.nodes.reduce((n, node) => n + (node.metrics?.calls ?? 0), 0),
      t.nodes.reduce((n, node) => n + (node.metrics?.connections ?? 0), 0)
    ]
    const expected = [total(sent.filter((c) => c.tcp === undefined)), total(sent.filter((c) => c.tcp !== undefined))]
    await waitFor(
      `every relation, and the ${expected.join(" requests and ")} connections sent, queryable`,
      async () => {
        const t = (await getJson(app.url, `/api/topology?start=${Date.now() - 3_600_000}`)).body as Topology
        return { relations: t.edges.length, requestsAndConnections: counted(t) }
      },
      (q) => q.relations >= 7 && q.requestsAndConnections.every((n, i) => n === expected[i]),
      mode === "prometheus" ? 90_000 : 10_000,
      100
    )
    page = await openPage(browser, app.url)
  }, 150_000)
  afterAll(async () => {
    await browser?.close()
    await app?.stop()
    await tsdb?.remove()
  })

  it("draws the last 15 minutes' services in namespace boxes, relations, health, and the same as a text list", async () => {
    await waitForState(page, "ready")
    const graph = await graphOf(page)
    expect(ids(graph)).toStrictEqual([
      "billing.payments",
      "cart.shop",
      "catalog.shop",
      "db.storage",
      "frontend.shop",
      "mysql.bookinfo",
      "productpage.bookinfo",
      "reviews.bookinfo"
    ])
    expect(graph.boxes.map((n) => n.id).sort()).toStrictEqual(["bookinfo", "payments", "shop", "storage"])
    expect(graph.edges.map((e) => `${e.source}->${e.target}`).sort()).toStrictEqual([
      "cart.shop->billing.payments",
      "catalog.shop->db.storage",
      "frontend.shop->cart.shop",
      "frontend.shop->catalog.shop",
      "productpage.bookinfo->reviews.bookinfo",
      "reviews.bookinfo->mysql.bookinfo"
    ])
    // billing answers half its calls with 503, db takes 3 s; frontend only calls others; mysql is TCP only.
    expect(healthById(graph)).toStrictEqual({
      "billing.payments": "critical",
      "cart.shop": "healthy",
      "catalog.shop": "healthy",
      "db.storage": "critical",
      "frontend.shop": "unknown",
      "mysql.bookinfo": "unknown",
      "productpage.bookinfo": "unknown",
      "reviews.bookinfo": "healthy"
    })
    // A range's calls/min is the mean over the minutes with calls: cart's 60 calls in one minute read 60.
    const cartApi = await apiNode("cart.shop")
    expect(cartApi.cpm).toBe(cartApi.calls / cartApi.callMinutes)
    expect(graph.nodes.find((n) => n.id === "cart.shop")!.cpm).toBe(cartApi.cpm)
    if (cartApi.callMinutes === 1) expect(cartApi.cpm).toBe(60)
    const billingEdge = graph.edges.find((e) => e.target === "billing.payments")!
    expect(billingEdge.health).toBe("critical")
    expect(billingEdge.label).toMatch(/50 % err/)
    // Small graph: every arrow is labelled, legibly.
    for (const e of graph.edges) {
      expect(e.labelShown, `${e.source}->${e.target}`).toBe(true)
      expect(e.labelPx).toBeGreaterThanOrEqual(10)
    }
    expect(await page.textContent("#graph-summary")).toBe("8 services · 6 relations")
    expect(await page.locator('[data-table="graph-services"] tbody tr').count()).toBe(8)
    expect(await page.locator('[data-table="graph-relations"] tbody tr').count()).toBe(6)
    const billingRow = await page.textContent('[data-table="graph-relations"] tr:has(td:text-is("billing.payments"))')
    expect(billingRow).toContain("critical")
    expect(billingRow).toContain("50 % err")
    await screenshotWidths(page, "topology")
    // At each width the whole graph is in the window: every service is drawn inside the visible part of the canvas.
    for (const size of WIDTHS) {
      await page.setViewportSize(size)
      await page.waitForTimeout(400)
      const box = (await page.locator("#graph").boundingBox())!
      expect(box.y + box.height, `graph fits in ${size.width} px`).toBeLessThanOrEqual(size.height)
      const drawn = await graphOf(page)
      for (const n of drawn.nodes) {
        expect(n.x > box.x && n.x < box.x + box.width && n.y > box.y && n.y < box.y + box.height, `${n.id} at ${size.width} px`).toBe(true)
        expect(n.labelShown && n.labelPx >= 10, `${n.id}'s label at ${size.width} px: ${n.labelPx} px`).toBe(true)
      }
      // The arrows' labels too: "unreadable at 1000 px" was round one's complaint.
      for (const e of drawn.edges)
        expect(e.labelShown && e.labelPx >= 10, `${e.source}->${e.target} at ${size.width} px: ${e.labelPx} px`).toBe(true)
    }
    await page.setViewportSize({ width: 1400, height: 900 })
    await page.waitForTimeout(400)
  })

  it("labels a TCP relation and service with bytes per second, not calls", async () => {
    const graph = await graphOf(page)
    const tcpEdge = graph.edges.find((e) => e.target === "mysql.bookinfo")!
    const api = (await apiTopology()).edges.find((e) => e.target === "mysql.bookinfo")!.server!
    expect(api.connections).toBe(16)
    expect(api.receivedBytes).toBe(16 * 1_200)
    expect(api.receivedBytesPerMin).toBe(api.receivedBytes / api.tcpMinutes)
    expect(tcpEdge.label).not.toContain("cpm")
    expect(tcpEdge.label).toContain(fmtBytesPerSec(api.receivedBytesPerMin + api.sentBytesPerMin))
    expect(tcpEdge.label).toMatch(/conn\/min/)
    expect(graph.nodes.find((n) => n.id === "mysql.bookinfo")!.label).toMatch(/B\/s$/)
  })

  it("goes down to instances, each in its service's box, with the calls between them", async ({ onTestFinished }) => {
    // The next tests start from the service level, whatever happens here.
    onTestFinished(() => goto(page, "#/"))
    await nextRender(page, () => page.selectOption("#level", "instance"))
    expect(page.url()).toContain("level=instance")
    const graph = await graphOf(page)
    const cart = graph.nodes
      .filter((n) => n.id.startsWith("cart.shop/"))
      .map((n) => n.name)
      .sort()
    expect(cart).toStrictEqual(["cart-v1-0", "cart-v1-1"])
    expect(graph.boxes.map((b) => b.id)).toEqual(expect.arrayContaining(["cart.shop", "frontend.shop", "mysql.bookinfo"]))
    expect(graph.edges.map((e) => `${e.source}->${e.target}`)).toEqual(
      expect.arrayContaining(["frontend.shop/frontend-v1-0->cart.shop/cart-v1-0", "frontend.shop/frontend-v1-0->cart.shop/cart-v1-1"])
    )
    const api = (await getJson(app.url, "/api/services/cart.shop/instances")).body.instances
    const cart1 = graph.nodes.find((n) => n.id === "cart.shop/cart-v1-1")!
    expect(cart1.cpm).toBe(api.find((i: { name: string }) => i.name === "cart-v1-1").metrics.cpm)
    expect((await page.textContent("#graph-summary")) ?? "").toMatch(/^\d+ instances · \d+ relations$/)
    await screenshotWidths(page, "topology-instances")
    const drawn = (await graphOf(page)).nodes.find((n) => n.id === "cart.shop/cart-v1-1")! // where it is after the resizes
    await page.mouse.click(drawn.x, drawn.y)
    await page.waitForSelector("#side-panel:not([hidden])")
    expect(await page.textContent("#side-panel")).toContain("instance of cart.shop")
    await nextRender(page, () => page.click("#side-panel >> text=Open proxy view"))
    expect(page.url()).toMatch(/#\/service\/cart\.shop\/instance\/cart-v1-1\?level=instance$/)
  })

  it("shows what happened in a longer time range once it is chosen", async () => {
    await nextRender(page, () => page.selectOption("#range", "60"))
    expect(page.url()).toContain("range=60")
    expect(ids(await graphOf(page))).toEqual(expect.arrayContaining(["archive.shop", "legacy.shop", "cart.shop"]))
    await nextRender(page, () => page.selectOption("#range", "15"))
    expect(ids(await graphOf(page))).not.toContain("legacy.shop")
  })

  it("filters by namespace; the search dims the rest and names its matches", async () => {
    await nextRender(page, () => page.selectOption("#namespace", "payments"))
    const payments = await graphOf(page)
    expect(payments.nodes.map((n) => [n.id, n.outside]).sort()).toStrictEqual([
      ["billing.payments", false],
      ["cart.shop", true]
    ])
    await nextRender(page, () => page.selectOption("#namespace", ""))
    await page.fill("#search", "cat")
    const searched = await graphOf(page)
    expect(searched.nodes.filter((n) => !n.dimmed).map((n) => n.id)).toStrictEqual(["catalog.shop"])
    expect(
      searched.edges
        .filter((e) => !e.dimmed)
        .map((e) => `${e.source}->${e.target}`)
        .sort()
    ).toStrictEqual(["catalog.shop->db.storage", "frontend.shop->catalog.shop"])
    expect(await page.textContent("#search-results")).toBe("1 match: catalog.shop")
    await page.fill("#search", "")
    expect((await graphOf(page)).nodes.every((n) => !n.dimmed)).toBe(true)
  })

  it("a click on a service opens the side panel with its figures; from there, its dashboard", async () => {
    // The view was redrawn and fitted a moment ago: let it settle, as a user's first click would.
    await sleep(300)
    const reviews = (await graphOf(page)).nodes.find((n) => n.id === "reviews.bookinfo")!
    await page.mouse.click(reviews.x, reviews.y)
    await page.waitForSelector("#side-panel:not([hidden])", { timeout: 10_000 })
    expect(await page.textContent("#side-panel h2")).toBe("reviews.bookinfo")
    const api = await apiNode("reviews.bookinfo")
    expect(await page.textContent("#side-panel .figures")).toContain(`Calls / min${fmtCpm(api.cpm)}`)
    expect((await graphOf(page)).nodes.find((n) => n.id === "reviews.bookinfo")!.selected).toBe(true)
    // Its arrows stay labelled while it is selected.
    await screenshot(page, "topology-selected")
    await nextRender(page, () => page.click("#side-panel >> text=Open dashboard"))
    expect(page.url()).toMatch(/#\/service\/reviews\.bookinfo$/)
  })

  it("a service's figures equal the API's and the mean of the chart beside them; legends show the range, then the hovered minute", async () => {
    const api = await apiNode("reviews.bookinfo")
    expect(api.calls).toBe(180)
    expect(api.callMinutes).toBeGreaterThanOrEqual(3)
    expect(await card(page, "Calls / min")).toBe(fmtCpm(api.cpm))
    expect(await card(page, "Success rate")).toBe(fmtPct(api.sla))
    const shown = await charts(page)
    expect(shown.map((c) => c.title)).toStrictEqual(["Calls per minute", "Latency", "Success rate", "Apdex"])
    const cpm = shown[0]!.series[0]!
    expect(Math.abs(meanOfPoints(cpm.values) - api.cpm)).toBeLessThanOrEqual(0.01)
    expect(cpm.rangeValue).toBe(fmtCpm(api.cpm))
    expect(await page.locator(".chart canvas").count()).toBe(4)
    // The legend reads the range's figure until the pointer is on a chart, then that minute's.
    const legend = page.locator('.chart[data-title="Calls per minute"] .chart-legend')
    expect(await legend.locator(".legend-when").textContent()).toBe("range")
    expect(await legend.locator(".legend-value").textContent()).toBe(fmtCpm(api.cpm))
    const box = (await page.locator('.chart[data-title="Calls per minute"] .u-over').boundingBox())!
    await page.mouse.move(box.x + box.width - 3, box.y + box.height / 2)
    expect((await legend.locator(".legend-when").textContent())!).toMatch(/^\d\d:\d\d:\d\d$/)
    expect(await legend.textContent()).not.toContain("--")
    // TCP: the service's calls to mysql are its callee's TCP bytes.
    expect(await page.textContent('[data-table="downstream"]')).toContain("B/s")
    await screenshotWidths(page, "service")
  })

  it("a service dashboard: instances, endpoints, status codes, neighbours", async () => {
    await goto(page, "#/service/cart.shop")
    const column = (table: string, n: number) => page.locator(`[data-table="${table}"] tbody td:nth-child(${n})`).allTextContents()
    expect(await column("instances", 1)).toStrictEqual(["cart-v1-0", "cart-v1-1"]) // by calls/min, most first
    await page.click('[data-table="instances"] th:has-text("Instance")')
    await page.click('[data-table="instances"] th:has-text("Instance")')
    expect(await column("instances", 1)).toStrictEqual(["cart-v1-1", "cart-v1-0"]) // by name, descending
    expect((await column("endpoints", 1)).sort()).toStrictEqual(["GET:/cart", "GET:/cart/items"])
    expect(await column("status-codes", 1)).toStrictEqual(["200"])
    expect(await column("upstream", 1)).toStrictEqual(["frontend.shop"])
    expect(await column("downstream", 1)).toStrictEqual(["billing.payments"])
  })

  it("an instance's proxy view: the figures its access logs give, and room for the proxy's own metrics", async () => {
    await nextRender(page, () => page.click('[data-table="instances"] a:text-is("cart-v1-0")'))
    expect(page.url()).toMatch(/#\/service\/cart\.shop\/instance\/cart-v1-0$/)
    expect(await page.textContent("#instance-name")).toBe("cart-v1-0")
    const api = (await getJson(app.url, "/api/services/cart.shop/instances")).body.instances.find(
      (i: { name: string }) => i.name === "cart-v1-0"
    ).metrics
    expect(await card(page, "Calls / min")).toBe(fmtCpm(api.cpm))
    expect((await charts(page)).map((c) => c.title).slice(0, 3)).toStrictEqual(["Calls per minute", "Latency", "Success rate"])
    expect(await page.isVisible('[data-message="proxy-metrics"]')).toBe(true)
    await screenshotWidths(page, "proxy")
  })

  it("a TCP service shows bytes and connections, with their charts", async () => {
    await goto(page, "#/service/mysql.bookinfo")
    const api = await apiNode("mysql.bookinfo")
    expect(await card(page, "TCP received")).toBe(fmtBytesPerSec(api.receivedBytesPerMin))
    expect(await card(page, "Connections")).toBe("16")
    expect(await page.$('[data-signal="Calls / min"]')).toBeNull()
    const shown = await charts(page)
    expect(shown.map((c) => c.title)).toStrictEqual(["TCP bytes per second", "TCP connections per minute"])
    expect(Math.abs(meanOfPoints(shown[0]!.series[0]!.values) - api.receivedBytesPerMin / 60)).toBeLessThanOrEqual(0.01)
    await screenshotWidths(page, "tcp-service")
  })

  it("a click on an arrow opens the side panel; from there, the relation: both sides, status codes, TCP", async () => {
    await goto(page, "#/")
    const edge = (await graphOf(page)).edges.find((e) => e.target === "billing.payments")!
    await page.mouse.click(edge.x, edge.y)
    await page.waitForSelector("#side-panel:not([hidden])")
    expect(await page.textContent("#side-panel h2")).toContain("cart.shop → billing.payments")
    await nextRender(page, () => page.click("#side-panel >> text=Open relation"))
    expect(page.url()).toMatch(/#\/relation\/cart\.shop\/billing\.payments$/)
    const row = (label: string) => page.locator(`[data-table="relation"] tr:has(th:text-is("${label}")) td`).allTextContents()
    expect(await row("Calls")).toStrictEqual(["20", "20"])
    expect(await row("Success rate")).toStrictEqual(["50 %", "50 %"])
    const codes = await page.locator('[data-table="statusCodes-server"] tbody td:nth-child(1)').allTextContents()
    expect(codes.sort()).toStrictEqual(["200", "503"])
    const shown = await charts(page)
    expect(shown[0]!.series.map((s) => s.label)).toStrictEqual(["client cpm", "server cpm"])
    await screenshotWidths(page, "relation")

    await goto(page, "#/relation/reviews.bookinfo/mysql.bookinfo")
    const received = await row("TCP received")
    expect(received.length).toBe(2)
    for (const cell of received) expect(cell).toMatch(/B\/s$/)
    expect(await row("Connections")).toStrictEqual(["16", "16"])
    expect((await charts(page)).map((c) => c.title)).toStrictEqual(["TCP bytes per second", "TCP connections per minute"])
    await screenshotWidths(page, "tcp-relation")
  })

  it("recolours with thresholds changed in the UI and keeps them across reloads", async () => {
    await goto(page, "#/")
    await page.click("#thresholds-toggle")
    await nextRender(page, async () => {
      await page.fill('input[name="latencyCritMs"]', "5000")
      await page.dispatchEvent("#thresholds", "change")
    })
    expect(healthById(await graphOf(page))["db.storage"]).toBe("warning")
    await page.reload()
    await waitForState(page, "ready")
    expect(healthById(await graphOf(page))["db.storage"]).toBe("warning")
    await page.evaluate(() => localStorage.clear())
  })

  it("says so for an unknown service", async () => {
    await goto(page, "#/service/nope.default", "not-found")
    expect(await page.textContent('[data-message="not-found"]')).toContain("Unknown service: nope.default")
    await screenshot(page, "unknown-service")
  })

  it("explains an empty meshsight with its real ALS port, and an unreachable API", async () => {
    const alsPort = await freePort()
    const empty = await startMeshsightAsync({ config: { MESHSIGHT_ALS_GRPC_HOST: "127.0.0.1", MESHSIGHT_ALS_GRPC_PORT: String(alsPort) } })
    let stopped = false
    try {
      const emptyPage = await openPage(browser, empty.url)
      await waitForState(emptyPage, "empty")
      const hint = await emptyPage.textContent('[data-message="empty"]')
      expect(hint).toContain("npm run demo")
      expect(await emptyPage.textContent('[data-port="als"]')).toBe(String(alsPort))
      expect(hint).toContain(`gRPC port ${empty.grpcPort}`)
      await screenshotWidths(emptyPage, "empty")
      await empty.stop()
      stopped = true
      await nextRender(emptyPage, () => emptyPage.click("#refresh"), "error")
      expect(await emptyPage.isVisible("#banner")).toBe(true)
      expect(await emptyPage.textContent("#banner")).toContain("cannot be reached")
      await screenshot(emptyPage, "api-unreachable")
    } finally {
      if (!stopped) await empty.stop()
    }
  })
})
