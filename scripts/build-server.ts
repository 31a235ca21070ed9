// The server half of `npm run build`: bundles src/main.ts and src/healthcheck.ts, with the dependencies they use,
// into dist/ (rolldown, which vite already brings). One bundle instead of tsc's file per module because V8 keeps
// every loaded module's source text for lazy compilation: Effect's modules carry large doc comments, and the
// bundle, tree-shaken and without comments, leaves ~28 MiB less heap at idle (docs/performance.md, Memory).
// Names are kept (not mangled) so that stack traces stay readable; dist/*.js.map maps them back to src/.
// Usage: node scripts/build-server.ts
import { readdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "rolldown"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const DIST = join(ROOT, "dist")

/**
 * Left to node_modules at run time: `@kubernetes/client-node` is loaded only by the k8s-mesh analyzer (a chunk of
 * its own, imported when configured) and is as large as the rest together; `pg-native` is the optional native
 * driver `pg` looks for.
 */
const EXTERNAL = ["pg-native", /^@kubernetes\/client-node(\/|$)/]

/** Removes what an earlier build left in dist/ (tsc's file-per-module layout included), keeping the UI's build. */
const cleanServerOutput = () => {
  for (const name of readdirSync(DIST, { withFileTypes: true }))
    if (name.name !== "ui" && !name.name.startsWith(".ui-build")) rmSync(join(DIST, name.name), { recursive: true, force: true })
}

const bundleServer = async () => {
  try {
    cleanServerOutput()
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e
  }
  await build({
    input: { main: join(ROOT, "src", "main.ts"), healthcheck: join(ROOT, "src", "healthcheck.ts") },
    platform: "node",
    external: EXTERNAL,
    logLevel: "warn",
    // main-analyzers.ts imports the configured analyzers; mx-mesh is also imported statically elsewhere.
    checks: { ineffectiveDynamicImport: false },
    output: {
      dir: DIST,
      format: "esm",
      entryFileNames: "[name].js",
      chunkFileNames: "[name]-[hash].js",
      sourcemap: true,
      minify: { compress: true, mangle: false },
      comments: { legal: false, annotation: false, jsdoc: false }
    }
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleServer()
