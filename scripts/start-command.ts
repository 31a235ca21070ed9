// How meshsight is started in production: the node flags of `npm start`, which the container image, the demo and
// the benchmark use too, so that what is measured is what runs.
import { readFileSync } from "node:fs"

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
