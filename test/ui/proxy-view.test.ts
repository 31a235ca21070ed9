// The proxy views in headless Chromium against a real meshsight: one cart pod's proxy streams its stats over
// MetricsService (one of its two upstream clusters without a healthy host), its twin sends access logs only. The
// service's instance table shows the proxy health column; the instance view shows memory, connections and the
// cluster table.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Browser, Page } from "playwright-core"
import { counterFamily, encodeMetricsMessage, gaugeFamily } from "../../sim/proxy-stats.ts"
import { sendAlsMessages } from "../support/als-client.ts"
import { getJson } from "../support/http-json.ts"
import { startMeshsightAsync } from "../support/meshsight.ts"
import { launchBrowser, openPage, screenshot, waitForState } from "./support/browser.ts"
import { ensureUiBuilt } from "./support/build-ui.ts"
import { sendMeshTraffic, workload } from "./support/mesh-traffic.ts"

const MIB = 1048576
const cluster = (host: string, healthy: number, requests: number) => {
  const prefix = `cluster.outbound|9080||${host}.svc.cluster.local`
  return [
    gaugeFamily(`${prefix}.membership_healthy`, healthy, 0),
    gaugeFamily(`${prefix}.upstream_cx_active`, healthy === 0 ? 0 : 3, 0),
    counterFamily(`${prefix}.upstream_rq_total`, requests, 0),
    counterFamily(`${prefix}.upstream_cx_none_healthy`, healthy === 0 ? requests : 0, 0)
  ]
}
const flush = (heapMib: number, requests: number) => [
  gaugeFamily("server.memory_heap_size", heapMib * MIB, 0),
  gaugeFamily("server.memory_physical_size", (heapMib + 8) * MIB, 0),
  gaugeFamily("server.total_connections", 12, 0),
  gaugeFamily("server.concurrency", 2, 0),
  ...cluster("billing.payments", 2, requests),
  ...cluster("stock.shop", 0, requests)
]

describe("proxy views", () => {
  let app: Awaited<ReturnType<typeof startMeshsightAsync>>
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    await ensureUiBuilt()
    ;[app, browser] = await Promise.all([startMeshsightAsync(), launchBrowser()])
    await sendMeshTraffic(app.alsPort, [
      { from: "frontend.shop", to: "cart.shop", count: 10, latencyMs: 20, serverPod: 0 },
      { from: "frontend.shop", to: "cart.shop", count: 10, latencyMs: 20, serverPod: 1 }
    ])
    const pod = workload("cart.shop", 0)
    const status = await sendAlsMessages(
      app.alsPort,
      [encodeMetricsMessage(flush(30, 100), { workload: pod }), encodeMetricsMessage(flush(42, 160)), encodeMetricsMessage(flush(36, 220))],
      "v3",
      { service: "metrics" }
    )
    expect(status.code).toBe(0)
    // The page shows what the API holds when it loads: wait until both instances are queryable (the next flush).
    for (const deadline = Date.now() + 20_000; ; await new Promise((r) => setTimeout(r, 100))) {
      if ((await getJson(app.url, "/api/services/cart.shop/instances")).body.instances?.length === 2) break
      if (Date.now() > deadline) throw new Error("cart.shop's two instances never became queryable")
    }
    page = await openPage(browser, app.url)
  })
  afterAll(async () => {
    await browser?.close()
    await app?.stop()
  })

  it("the service's instance table has a proxy health column linking to the instance's proxy", async () => {
    await page.evaluate(() => (location.hash = "#/service/cart.shop"))
    await page.waitForFunction(() => document.querySelectorAll('[data-table="instances"] tbody tr').length === 2)
    await waitForState(page, "ready")
    const rows = await page.$$eval('[data-table="instances"] tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent))
    )
    const byName = Object.fromEntries(rows.map((r) => [r[0], r.at(-1)]))
    expect(byName).toStrictEqual({
      "cart-v1-0": "1 of 2 clusters without healthy hosts · heap 36 MiB",
      "cart-v1-1": "—"
    })
    await screenshot(page, "proxy-health-column")
    await page.click('[data-table="instances"] a[href*="/instance/cart-v1-0"]')
    await waitForState(page, "ready")
    expect(await page.textContent("#instance-name")).toBe("cart-v1-0")
  })

  it("the instance view shows memory, connections and cluster health", async () => {
    await page.evaluate(() => (location.hash = "#/service/cart.shop/instance/cart-v1-0"))
    await page.waitForFunction(() => document.querySelector("#instance-name")?.textContent === "cart-v1-0")
    await waitForState(page, "ready")
    const cards = await page.$$eval(".proxy-cards .card", (cs) =>
      Object.fromEntries(cs.map((c) => [c.querySelector("dt")!.textContent, c.querySelector("dd")!.textContent]))
    )
    expect(cards).toStrictEqual({
      "Heap used": "36 MiB",
      "Heap max (minute)": "42 MiB",
      "Physical memory": "44 MiB",
      Connections: "12",
      "Worker threads": "2",
      "Unhealthy clusters": "1 of 2"
    })
    const clusters = await page.$$eval('[data-table="proxy-clusters"] tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent))
    )
    // Requests / min: 160 − 100 + 220 − 160 (the first flush only sets the baseline).
    expect(clusters).toStrictEqual([
      ["billing.payments", "outbound", "2", "3", "—", "120", "0", "—"],
      ["stock.shop", "outbound", "0", "0", "—", "120", "120", "—"]
    ])
    expect(await page.getAttribute('[data-table="proxy-clusters"] tbody tr:nth-child(2) span', "class")).toBe("critical")
    const charts = await page.evaluate(() => window.__meshsight.charts)
    // The proxy's charts follow the access logs' ones.
    const proxyCharts = charts.slice(-3)
    expect(proxyCharts.map((c) => c.title)).toStrictEqual(["Heap memory (MiB)", "Connections", "Healthy upstream hosts (all clusters)"])
    expect(proxyCharts[0]!.series.map((x) => ({ label: x.label, points: x.points }))).toStrictEqual([
      { label: "used", points: 1 },
      { label: "max", points: 1 }
    ])
    await screenshot(page, "proxy-instance-view")
  })
})
