// The page with 300 services and 1 000 relations (generated sidecar traffic over gRPC): time to first render,
// readable labels at the first view and more as you zoom, frame times while zooming and panning, and a search
// that applies quickly and names its matches. The numbers are printed for
// docs/ui.md; the budgets are loose enough for a busy two-core machine yet catch a page that stops responding.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Browser, Page } from "playwright-core"
import { setTimeout as sleep } from "node:timers/promises"
import { getJson } from "../support/http-json.ts"
import { startMeshsightAsync } from "../support/meshsight.ts"
import { launchBrowser, openPage, screenshot, screenshotWidths, waitForState } from "./support/browser.ts"
import { ensureUiBuilt } from "./support/build-ui.ts"
import { type Call, sendMeshTraffic } from "./support/mesh-traffic.ts"

const SERVICES = 300
const RELATIONS = 1000

/** Relations between distinct services, picked by a fixed linear congruential sequence. */
const largeMesh = (): Array<Call> => {
  const name = (i: number) => `svc-${String(i).padStart(3, "0")}.ns-${i % 6}`
  const seen = new Set<string>()
  const calls: Array<Call> = []
  // Every service gets a caller first, so all 300 appear; then random pairs up to 1 000.
  for (let i = 1; i < SERVICES; i++) seen.add(`${Math.floor(i / 3)}>${i}`)
  let x = 12345
  while (seen.size < RELATIONS) {
    x = (x * 1103515245 + 12345) % 2 ** 31
    const a = x % SERVICES
    const b = Math.floor(x / SERVICES) % SERVICES
    if (a !== b) seen.add(`${a}>${b}`)
  }
  for (const pair of seen) {
    const [a, b] = pair.split(">").map(Number) as [number, number]
    calls.push({ from: name(a), to: name(b), count: 2 + (a % 5), latencyMs: 5 + (b % 40), errors: b % 29 === 0 ? 1 : 0 })
  }
  return calls
}

interface FrameStats {
  readonly frames: number
  readonly p95Ms: number
  readonly maxMs: number
}

/** Records frame intervals while `act` runs in the page. */
const frameTimes = async (page: Page, act: () => Promise<void>): Promise<FrameStats> => {
  await page.evaluate(() => {
    const w = window as unknown as { __frames: Array<number>; __recording: boolean }
    w.__frames = []
    w.__recording = true
    const tick = (t: number) => {
      w.__frames.push(t)
      if (w.__recording) requestAnimationFrame(tick)
    }
    requestAnimationFrame(tick)
  })
  await act()
  const stamps = await page.evaluate(() => {
    const w = window as unknown as { __frames: Array<number>; __recording: boolean }
    w.__recording = false
    return w.__frames
  })
  const intervals = stamps
    .slice(1)
    .map((t, i) => t - stamps[i]!)
    .sort((a, b) => a - b)
  return {
    frames: intervals.length,
    p95Ms: intervals[Math.floor(intervals.length * 0.95)] ?? Infinity,
    maxMs: intervals[intervals.length - 1] ?? Infinity
  }
}

describe("web UI with 300 services and 1 000 relations", () => {
  let app: Awaited<ReturnType<typeof startMeshsightAsync>>
  let browser: Browser
  let page: Page
  let loadMs = 0

  beforeAll(async () => {
    await ensureUiBuilt()
    ;[app, browser] = await Promise.all([startMeshsightAsync(), launchBrowser()])
    await sendMeshTraffic(app.alsPort, largeMesh())
    for (let i = 0; (await getJson(app.url, "/api/topology")).body.edges.length < RELATIONS; i++) {
      if (i > 200) throw new Error("traffic never became queryable")
      await sleep(100)
    }
    const start = performance.now()
    page = await openPage(browser, app.url)
    await waitForState(page, "ready", 30_000)
    loadMs = performance.now() - start
  })
  afterAll(async () => {
    await browser?.close()
    await app?.stop()
  })

  it("renders every service and relation in a few seconds", async () => {
    const graph = await page.evaluate(() => window.__meshsight.graph())
    expect(graph.nodes.length).toBe(SERVICES)
    expect(graph.edges.length).toBe(RELATIONS)
    const renderMs = await page.evaluate(() => window.__meshsight.timings.graphRenderMs!)
    console.log(
      `300 services / 1000 relations: page load to drawn graph ${loadMs.toFixed(0)} ms, graph update + layout + first frame ${renderMs.toFixed(0)} ms, of which layout ${(await page.evaluate(() => window.__meshsight.timings.layoutMs!)).toFixed(0)} ms`
    )
    expect(renderMs).toBeLessThan(8_000)
    // The canvas's content is on the page as text too.
    expect(await page.locator('[data-table="graph-services"] tbody tr').count()).toBe(SERVICES)
    expect(await page.locator('[data-table="graph-relations"] tbody tr').count()).toBe(RELATIONS)
    await screenshotWidths(page, "large-mesh")
  })

  it("is readable at the first view: namespace titles and the busiest services labelled at 10 px or more, more labels as you zoom", async () => {
    const graph = await page.evaluate(() => window.__meshsight.graph())
    const shown = graph.nodes.filter((n) => n.labelShown)
    console.log(
      `default zoom ${graph.zoom.toFixed(2)}: ${shown.length} service labels drawn, ${Math.min(...shown.map((n) => n.labelPx)).toFixed(1)}-${Math.max(...shown.map((n) => n.labelPx)).toFixed(1)} px; namespace titles ${graph.boxes.map((n) => n.labelPx.toFixed(1)).join(", ")} px`
    )
    expect(graph.boxes.length).toBe(6)
    for (const ns of graph.boxes) expect(ns.labelPx, ns.id).toBeGreaterThanOrEqual(12)
    expect(shown.length).toBeGreaterThanOrEqual(20)
    for (const n of shown) expect(n.labelPx, n.id).toBeGreaterThanOrEqual(10)
    // No label is drawn below the readable size: the others wait for the zoom.
    expect(graph.nodes.filter((n) => !n.labelShown).every((n) => n.labelPx < 10)).toBe(true)
    for (let i = 0; i < 3; i++) await page.click("#zoom-in")
    await sleep(300) // for the redraws the zooms asked for, as a user sees them
    const zoomed = await page.evaluate(() => window.__meshsight.graph())
    const zoomedShown = zoomed.nodes.filter((n) => n.labelShown)
    console.log(`zoomed to ${zoomed.zoom.toFixed(2)}: ${zoomedShown.length} service labels drawn`)
    expect(zoomed.zoom).toBeGreaterThan(graph.zoom)
    expect(zoomedShown.length).toBeGreaterThan(shown.length)
    for (const n of zoomedShown) expect(n.labelPx, n.id).toBeGreaterThanOrEqual(10)
    await screenshot(page, "large-mesh-zoomed")
    await page.click("#fit")
  })

  it("keeps frames short while zooming and panning", async () => {
    const box = (await page.locator("#graph").boundingBox())!
    const cx = box.x + box.width / 2
    const cy = box.y + box.height / 2
    await page.mouse.move(cx, cy)
    const zoom = await frameTimes(page, async () => {
      for (let i = 0; i < 10; i++) {
        await page.mouse.wheel(0, i < 5 ? -200 : 200)
        await sleep(30)
      }
    })
    const pan = await frameTimes(page, async () => {
      await page.mouse.down()
      for (let i = 1; i <= 30; i++) await page.mouse.move(cx + i * 8, cy + i * 4)
      await page.mouse.up()
      await sleep(100)
    })
    console.log(
      `zoom: ${zoom.frames} frames, p95 ${zoom.p95Ms.toFixed(1)} ms, max ${zoom.maxMs.toFixed(1)} ms; pan: ${pan.frames} frames, p95 ${pan.p95Ms.toFixed(1)} ms, max ${pan.maxMs.toFixed(1)} ms`
    )
    expect(zoom.p95Ms).toBeLessThan(250)
    expect(pan.p95Ms).toBeLessThan(250)
  })

  it("applies a search filter within a frame or two", async () => {
    await page.fill("#search", "svc-04")
    await page.waitForFunction(() => window.__meshsight.timings.searchMs !== undefined)
    const searchMs = await page.evaluate(() => window.__meshsight.timings.searchMs!)
    const graph = await page.evaluate(() => window.__meshsight.graph())
    expect(
      graph.nodes
        .filter((n) => !n.dimmed)
        .map((n) => n.id)
        .sort()
    ).toStrictEqual(Array.from({ length: 10 }, (_, i) => `svc-04${i}.ns-${(40 + i) % 6}`))
    console.log(`search filter applied and drawn in ${searchMs.toFixed(1)} ms`)
    expect(searchMs).toBeLessThan(1_000)
    // The matches are named, and labelled on the canvas whatever the zoom.
    const results = (await page.textContent("#search-results"))!
    expect(results).toMatch(/^10 matches: svc-040\.ns-4, svc-041\.ns-5, .* and 2 more$/)
    for (const n of graph.nodes.filter((n) => !n.dimmed)) expect(n.labelShown, n.id).toBe(true)
    await screenshot(page, "large-mesh-search")
  })
})
