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
