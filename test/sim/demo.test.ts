// `npm run demo` (scripts/demo.ts) as a user runs it: it prints where to look, meshsight answers there with the
// simulated services, and Ctrl-C (SIGINT) stops the traffic and meshsight, both exiting 0.
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"
import { getJson } from "../support/http-json.ts"
import { freePort } from "../../testkit/meshsight-process.ts"

const DEMO = fileURLToPath(new URL("../../scripts/demo.ts", import.meta.url))

it("prints the URL, serves the simulated topology there, and stops cleanly on SIGINT", async () => {
  const [grpcPort, httpPort] = [await freePort(), await freePort()]
  const child = spawn(process.execPath, [DEMO, "--grpc-port", String(grpcPort), "--http-port", String(httpPort), "--rate", "50"], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout.on("data", (d) => (output += d))
  child.stderr.on("data", (d) => (output += d))
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const waitFor = async (pattern: RegExp) => {
    for (const deadline = Date.now() + 20_000; !pattern.test(output); ) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${pattern} in the demo's output:\n${output}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  try {
    await waitFor(/Web UI\s+http:\/\/localhost:\d+\//)
    expect(output).toContain(`Web UI     http://localhost:${httpPort}/`)
    expect(output).toContain(`Topology   http://localhost:${httpPort}/api/topology`)
    expect(output).toContain(`gRPC ALS on :${grpcPort}`)
    // A progress line, then the topology has the entry edge.
    await waitFor(/demo: \d+ requests, \d+ calls/)
    const topology = (await getJson(`http://127.0.0.1:${httpPort}`, "/api/topology")).body
    expect(topology.edges.map((e: any) => `${e.source} → ${e.target}`)).toContain("istio-ingressgateway.istio-system → productpage.default")
    // The simulated mesh fails some calls, and the demo keeps them as error logs (the UI's Errors tabs).
    let logs: ReadonlyArray<any> = []
    for (const deadline = Date.now() + 15_000; logs.length === 0 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 250))
      logs = (await getJson(`http://127.0.0.1:${httpPort}`, "/api/logs")).body.logs
    }
    expect(logs.length).toBeGreaterThan(0)
    expect(logs[0].requestId).toMatch(/^00000000-0000-4000-8000-[0-9a-f]{12}$/)
  } finally {
    child.kill("SIGINT")
  }
  expect(await exited, output).toBe(0)
  expect(output).toMatch(/demo: SIGINT: stopping the traffic, then meshsight/)
  expect(output).toMatch(/meshsight \| .*final flush/)
  expect(output).toContain("demo: meshsight exited with 0")
}, 40_000)
