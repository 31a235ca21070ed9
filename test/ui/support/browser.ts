// Headless Chromium (Debian's, installed by scripts/ensure-system-deps.ts) on a meshsight page.
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { type Browser, chromium, type Page } from "playwright-core"

// The page's test hook (window.__meshsight), typed for page.evaluate.
export type { MeshsightHook } from "../../../ui/src/hook.ts"

export const SCREENSHOTS = join(import.meta.dirname, "..", "..", "..", "test-results", "ui-screenshots")

export const launchBrowser = (): Promise<Browser> => chromium.launch({ executablePath: "/usr/bin/chromium" })

export const openPage = async (browser: Browser, url: string): Promise<Page> => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  await page.goto(url)
  return page
}

/** Waits until the current view settled in `state` (body[data-state]). */
export const waitForState = (page: Page, state: string, timeout = 15_000) =>
  page.waitForSelector(`body[data-state="${state}"]`, { timeout }).then(() => undefined)

export const screenshot = async (page: Page, name: string) => {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) })
}

/** The widths the UI is checked at: a small laptop's window and a full-HD screen. */
export const WIDTHS = [
  { width: 1000, height: 760 },
  { width: 1920, height: 1080 }
] as const

/**
 * Screenshots of the current view at each of WIDTHS (`NAME-1000.png`, `NAME-1920.png`), each after the view has
 * redrawn at that size (charts take their width when drawn; the graph fits itself to a new window size).
 */
export const screenshotWidths = async (page: Page, name: string) => {
  const before = page.viewportSize()
  for (const size of WIDTHS) {
    await page.setViewportSize(size)
    const refreshes = await page.evaluate(() => window.__meshsight.refreshes)
    await page.click("#refresh")
    await page.waitForFunction((n) => window.__meshsight.refreshes > n, refreshes)
    await page.waitForTimeout(300)
    await screenshot(page, `${name}-${size.width}`)
  }
  if (before) {
    await page.setViewportSize(before)
    await page.waitForTimeout(300) // the graph fits itself to the new size
  }
}
