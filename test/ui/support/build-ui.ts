// The UI tests serve the built UI (dist/ui), as meshsight does: build it when it is missing or older than its
// sources. A lock folder keeps test files running in parallel from building at once.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { build } from "vite"
import { defaultUiDir } from "../../../src/http/ui-routes.ts"

const ROOT = join(import.meta.dirname, "..", "..", "..")
const SOURCES = [join(ROOT, "ui"), join(ROOT, "src", "query", "api-model.ts"), join(ROOT, "src", "domain", "metric-summary.ts")]
const LOCK = join(ROOT, "dist", ".ui-build.lock")
const STALE_LOCK_MS = 120_000

const newestMtime = (path: string): number => {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))))
}

const isFresh = () => {
  const index = join(defaultUiDir(), "index.html")
  return existsSync(index) && statSync(index).mtimeMs >= Math.max(...SOURCES.map(newestMtime))
}

const takeLock = (): boolean => {
  mkdirSync(join(ROOT, "dist"), { recursive: true })
  try {
    mkdirSync(LOCK)
    return true
  } catch {
    if (Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true })
    return false
  }
}

export const ensureUiBuilt = async (): Promise<void> => {
  while (!isFresh()) {
    if (!takeLock()) {
      await sleep(200)
      continue
    }
    try {
      if (!isFresh()) await build({ configFile: join(ROOT, "ui", "vite.config.ts"), logLevel: "warn" })
    } finally {
      rmSync(LOCK, { recursive: true, force: true })
    }
  }
}
