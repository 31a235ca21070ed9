// How meshsight's server is built and started, as `npm start` does it: the demo, the benchmark and the process
// tests use the same build, node flags and readiness wait, so that what is measured and tested is what runs.
import { type ChildProcess, execFileSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
/** The built server, as `npm start` runs it. */
export const SERVER_MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url))

const packageJson = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  scripts: Record<string, string>
}

/** The flags between `node` and `dist/main.js` in package.json's start script. */
export const serviceNodeFlags: ReadonlyArray<string> = (() => {
  const words = packageJson.scripts.start.split(/\s+/)
  if (words[0] !== "node" || words.at(-1) !== "dist/main.js") {
    throw new Error(`package.json's start script should be "node [flags] dist/main.js", is "${packageJson.scripts.start}"`)
  }
  return words.slice(1, -1)
})()

/**
 * Builds the server into dist/ as `npm run build` does (its other half is the UI): type-checks src/ with tsc, then
 * bundles it (scripts/build-server.ts), whatever tsc says. Returns tsc's complaints, or undefined when clean;
 * throws when the bundle cannot be made.
 */
export const buildServer = (): string | undefined => {
  let typeErrors: string | undefined
  try {
    execFileSync(
      process.execPath,
      [fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url)), "--noEmit", "-p", "tsconfig.build.json"],
      { cwd: ROOT, stdio: "pipe" }
    )
  } catch (e) {
    typeErrors = String((e as { stdout?: unknown }).stdout ?? e)
  }
  execFileSync(process.execPath, [fileURLToPath(new URL("./build-server.ts", import.meta.url))], { cwd: ROOT, stdio: "pipe" })
  if (!existsSync(SERVER_MAIN)) throw new Error("scripts/build-server.ts made no dist/main.js")
  return typeErrors
}

/**
 * Waits until meshsight at `url` answers /readyz with 200. Rejects when the process exits first or the time is up
 * (then kills it); the message's first line says which, the lines after it are `output()`.
 */
export const waitUntilReady = async (url: string, child: ChildProcess, output: () => string = () => "", timeoutMs = 20_000) => {
  const failure = (what: string) => new Error([what, output()].filter((s) => s !== "").join(":\n"))
  for (const deadline = Date.now() + timeoutMs; ; ) {
    if (child.exitCode !== null) throw failure(`meshsight exited with ${child.exitCode} during start-up`)
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.status === 200,
        () => false
      )
    )
      return
    if (Date.now() > deadline) {
      child.kill("SIGKILL")
      throw failure(`meshsight did not become ready within ${timeoutMs / 1000} s`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}
