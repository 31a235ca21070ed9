// Endpoint grouping rules: SkyWalking's endpoint-name-grouping.yml format and the regex form, applied by the
// analyze step to the destination service's endpoints; then a running meshsight with a rules file and a small cap.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { analyze, type AnalysisMisses } from "../../src/analysis/analyze.ts"
import { makeEndpointNamer } from "../../src/analysis/endpoint-names.ts"
import {
  type GroupingRules,
  InvalidGroupingFile,
  NO_RULES,
  parseGroupingRules,
  readGroupingRules
} from "../../src/analysis/endpoint-rules.ts"
import type { EntrySides } from "../../src/domain/identity.ts"
import { parseNode } from "../../src/domain/node.ts"
import { decodeAlsMessage } from "../../src/protocol/als-codec.ts"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, type CallPeers, type HttpCall, inboundHttpEntry, type Workload } from "../../sim/istio-entries.ts"
import { sendAlsMessages } from "../support/als-client.ts"
import { getJson } from "../support/http-json.ts"
import { workload } from "../support/ip-table-analyzer.ts"
import { metricValue, spawnMeshsight } from "../../testkit/meshsight-process.ts"
import { waitFor } from "../support/wait-for.ts"

const pod = (app: string, ip: string): Workload => ({ name: `${app}-0`, namespace: "default", ip, labels: { app }, workloadName: app })
const peers: CallPeers = { client: pod("productpage", "10.0.0.1"), server: pod("reviews", "10.0.0.2"), port: 9080, host: "reviews" }
const START = Date.UTC(2026, 10, 25, 12, 0, 0)

/** One ALS message of inbound calls to reviews, as its sidecar logs them. */
const inboundMessage = (calls: ReadonlyArray<Partial<HttpCall>>, startMs: number) =>
  encodeAlsMessageJson(
    alsMessageJson(
      { http: calls.map((c) => inboundHttpEntry({ startMs, durationMs: 10, ...c }, peers)) },
      { workload: peers.server, role: "sidecar" }
    )
  )

/** The server-side endpoint names of inbound calls to `service`, through decode and analyze. */
const endpointsOf = (rules: GroupingRules, calls: ReadonlyArray<Partial<HttpCall>>, service = "reviews.default") => {
  const message = decodeAlsMessage(inboundMessage(calls, START))
  const sides: Array<EntrySides> = message.entries.map(() => ({
    local: workload(service),
    downstream: workload("productpage"),
    upstream: undefined
  }))
  const misses: AnalysisMisses = { local: 0, source: 0, destination: 0 }
  return analyze(parseNode(message.identifier!.node), message.entries, sides, misses, makeEndpointNamer(rules)).map((r) => r.endpoint)
}

const rules = (yaml: string) => parseGroupingRules("grouping.yml", yaml)

const errorOf = (yaml: string): string => {
  try {
    rules(yaml)
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidGroupingFile)
    return (e as InvalidGroupingFile).message
  }
  throw new Error("the file was accepted")
}

describe("endpoint grouping rules", () => {
  const reviews = rules(`
grouping:
  - service-name: reviews.default
    rules:
      - /reviews/{id}
      - /reviews/{id}/ratings/{stars}
      - /reviews/top
      - POST:/orders/{order}
      - endpoint-name: /products/{sku}
        regex: /products/[A-Z]{3}-\\d+
`)

  it("a {name} segment matches one path segment; the method is kept and the query string dropped", () => {
    expect(
      endpointsOf(reviews, [
        { path: "/reviews/123" },
        { method: "POST", path: "/reviews/abc?x=1" },
        { path: "/reviews/7/ratings/5" },
        { path: "/reviews/7/" }, // one trailing slash is ignored, as SkyWalking does
        { path: "/reviews/1/2" }, // two segments: no rule
        { path: "/reviews/" }, // the placeholder needs a segment
        { path: "/reviews/top" } // a literal segment wins over a placeholder
      ])
    ).toEqual([
      "GET:/reviews/{id}",
      "POST:/reviews/{id}",
      "GET:/reviews/{id}/ratings/{stars}",
      "GET:/reviews/{id}",
      "GET:/reviews/1/2",
      "GET:/reviews/",
      "GET:/reviews/top"
    ])
  })

  it("a METHOD: rule applies to that method only; a regex rule matches the whole path", () => {
    expect(
      endpointsOf(reviews, [
        { method: "POST", path: "/orders/9" },
        { method: "GET", path: "/orders/9" },
        { path: "/products/ABC-42" },
        { path: "/products/ABC-42x" }
      ])
    ).toEqual(["POST:/orders/{order}", "GET:/orders/9", "GET:/products/{sku}", "GET:/products/ABC-42x"])
  })

  it("rules are per service: another service's paths stay as they are", () => {
    expect(endpointsOf(reviews, [{ path: "/reviews/123" }], "ratings.default")).toEqual(["GET:/reviews/123"])
  })

  it("10 000 distinct /reviews/<n> paths become one grouped endpoint", () => {
    const calls = Array.from({ length: 10_000 }, (_, n) => ({ path: `/reviews/${n}` }))
    expect(new Set(endpointsOf(reviews, calls))).toEqual(new Set(["GET:/reviews/{id}"]))
  })

  it("SkyWalking's files load as they are: its sample, its all-commented default, an agent's rule skipped", () => {
    const sample = rules(`# SkyWalking's test resource
grouping:
  # Endpoint of the service would follow the following rules
  - service-name: serviceA
    rules:
      - /prod/{var}
      - "{GET}/prod/{var}"
`)
    expect(endpointsOf(sample, [{ path: "/prod/ORDER123" }], "serviceA")).toEqual(["GET:/prod/{var}"])
    expect(sample.skipped).toEqual(['line 7: "{GET}/prod/{var}"'])
    expect(rules("#grouping:\n#  - service-name: serviceA\n").services.size).toBe(0)
    expect(endpointsOf(NO_RULES, [{ path: "/prod/1?q" }])).toEqual(["GET:/prod/1"])
  })

  it("the sample file in docs/ loads and groups as its comments say", () => {
    const sample = readGroupingRules(fileURLToPath(new URL("../../docs/endpoint-name-grouping.yml", import.meta.url)))
    expect(sample.skipped).toEqual([])
    expect(
      endpointsOf(sample, [
        { path: "/reviews/0" },
        { path: "/reviews/123/ratings/4" },
        { path: "/reviews/top" },
        { method: "DELETE", path: "/reviews/5/cache" },
        { path: "/reviews/5/cache" }
      ])
    ).toEqual([
      "GET:/reviews/{id}",
      "GET:/reviews/{id}/ratings/{stars}",
      "GET:/reviews/top",
      "DELETE:/reviews/{id}/cache",
      "GET:/reviews/5/cache"
    ])
    expect(endpointsOf(sample, [{ path: "/products/ABC-1" }], "productpage.default")).toEqual(["GET:/products/{sku}"])
  })

  it("a bad file is refused naming the line and the reason", () => {
    expect(errorOf("grouping:\n  - service-name: a\n    rules: [/x/{id}\n")).toMatch(
      /^invalid endpoint grouping file grouping\.yml, line \d: not valid YAML: /
    )
    expect(errorOf("grouping:\n  - service-name: a\n    rules:\n      - endpoint-name: /x/{id}\n        regex: /x/(\\d+\n")).toMatch(
      /^invalid endpoint grouping file grouping\.yml, line 5: regex ".+" does not compile: .*Unterminated group/
    )
    expect(errorOf("grouping:\n  - service-name: a\n    rule:\n      - /x/{id}\n")).toBe(
      'invalid endpoint grouping file grouping.yml, line 3: unknown key "rule" in a grouping entry (expected service-name, rules)'
    )
    expect(errorOf("grouping:\n  - rules:\n      - /x/{id}\n")).toBe(
      "invalid endpoint grouping file grouping.yml, line 2: service-name must be a non-empty string"
    )
    expect(errorOf("grouping:\n  service-name: a\n")).toBe(
      "invalid endpoint grouping file grouping.yml, line 2: grouping must be a list of {service-name, rules}"
    )
    expect(errorOf("grouping:\n  - service-name: a\n    rules:\n      - /x/v{id}\n")).toBe(
      'invalid endpoint grouping file grouping.yml, line 4: rule "/x/v{id}": a {placeholder} must be a whole path segment'
    )
  })
})

describe("a running meshsight with a grouping file", () => {
  it("groups by the file's rules and folds ungrouped endpoints past the cap into (other), counted in /metrics", async () => {
    const dir = mkdtempSync(join(tmpdir(), "meshsight-grouping-"))
    const file = join(dir, "endpoint-name-grouping.yml")
    writeFileSync(file, "grouping:\n  - service-name: reviews.default\n    rules:\n      - /reviews/{id}\n")
    const running = await spawnMeshsight({ MESHSIGHT_ENDPOINT_GROUPING_FILE: file, MESHSIGHT_MAX_ENDPOINTS_PER_SERVICE: "2" })
    try {
      expect(running.output()).toContain(`endpoint grouping: 1 rules for 1 services from ${file}`)
      const paths = ["/reviews/1", "/reviews/2", "/reviews/3", "/x/1", "/x/2", "/x/3", "/x/4"]
      const sent = await sendAlsMessages(running.grpcPort, [
        inboundMessage(
          paths.map((path) => ({ path })),
          Date.now()
        )
      ])
      expect(sent.code).toBe(0)
      const endpoints = await waitFor(
        "four endpoints of reviews",
        async (): Promise<Record<string, number>> => {
          const { body } = await getJson(running.url, "/api/services/reviews.default/endpoints")
          return Object.fromEntries((body.endpoints ?? []).map((e: any) => [e.name, e.metrics.calls]))
        },
        (e) => Object.keys(e).length >= 4
      )
      expect(endpoints).toEqual({ "GET:/reviews/{id}": 3, "GET:/x/1": 1, "GET:/x/2": 1, "(other)": 2 })
      const exposition = await (await fetch(`${running.url}/metrics`)).text()
      expect(metricValue(exposition, "meshsight_endpoints_overflow_total")).toBe(2)
      expect(running.output()).toMatch(/more than 2 distinct endpoints in a minute .*"\(other\)" for reviews\.default/)
    } finally {
      expect(await running.stop()).toBe(0)
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
