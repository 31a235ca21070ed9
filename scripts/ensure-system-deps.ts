// Installs the Debian packages the test suite drives for real (a headless Chromium for the web UI tests, a
// Prometheus server that scrapes /metrics and /metrics/mesh and receives remote write, VictoriaMetrics that
// receives remote write, PostgreSQL for the shared error-log store, jemalloc which meshsight preloads by default),
// so that `npm test` works on a fresh machine. Runs before the tests (npm's pretest); does nothing when they are
// present.
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import { jemallocCandidates } from "../src/memory/allocator.ts"

const needed: ReadonlyArray<{ readonly binary: string; readonly pkg: string }> = [
  { binary: "/usr/bin/chromium", pkg: "chromium" },
  { binary: "/usr/bin/prometheus", pkg: "prometheus" },
  // initdb and pg_ctl under /usr/lib/postgresql/VERSION/bin (test/support/postgres.ts).
  { binary: "/usr/lib/postgresql", pkg: "postgresql" },
  { binary: "/usr/bin/victoria-metrics", pkg: "victoria-metrics" },
  // Where Debian's package puts it for this architecture (src/memory/allocator.ts looks there first).
  { binary: jemallocCandidates()[0]!, pkg: "libjemalloc2" }
]

const missing = needed.filter((n) => !existsSync(n.binary))
if (missing.length > 0) {
  const pkgs = missing.map((m) => m.pkg)
  console.log(`installing Debian packages for the tests: ${pkgs.join(" ")}`)
  const asRoot = process.getuid?.() === 0 ? [] : ["sudo"]
  const run = (args: Array<string>) => {
    const [cmd, ...rest] = [...asRoot, ...args]
    execFileSync(cmd, rest, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } })
  }
  try {
    run(["apt-get", "update", "-q"])
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", ...pkgs])
  } catch (e) {
    console.error(`could not install ${pkgs.join(" ")} (${String(e)}); install them with apt-get and run the tests again`)
    process.exit(1)
  }
}
