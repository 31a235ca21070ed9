// Builds the web UI into dist/ui, which src/http/ui-routes.ts serves. Asset names carry a content hash, so the
// server can let browsers cache them for good; `npm run build` runs this after tsc.
import { defineConfig } from "vite"

const uiRoot = new URL(".", import.meta.url).pathname

export default defineConfig({
  root: uiRoot,
  base: "/",
  logLevel: "warn",
  build: {
    outDir: new URL("../dist/ui", import.meta.url).pathname,
    emptyOutDir: true,
    target: "es2022",
    // cytoscape is the bulk of the bundle (see docs/ui.md); the warning's default 500 kB is not our budget.
    chunkSizeWarningLimit: 700
  },
  // `vite --config ui/vite.config.ts` for UI work against a meshsight on its default port.
  server: { proxy: { "/api": "http://127.0.0.1:12800" } }
})
