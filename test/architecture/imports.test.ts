// Imports follow the pipeline: a module may import its own stage and earlier stages, never a later one, so each
// stage can be read (and replaced) knowing only what comes before it. Ranks, earliest first:
//   0  shared, importing no stage: domain/, util/, telemetry.ts, log-text.ts, listen-failure.ts
//   0.5 memory/ (the budget every stage that retains data counts against; it reads its setting through util/)
//   1  ingest/ (the gRPC transport; it defines the StreamHandler services that pipeline/ provides), security/
//   2  protocol/ (wire bytes → domain values)
//   3  identity/ (the analyzers)
//   4  analysis/ (identified entries → records)
//   5  store/ — ranked before aggregation, which writes into it: the store depends only on domain/ (minute,
//      Series, SeriesStats), so the aggregator uses its MetricStore service as a sink without a cycle, and no
//      interface has to be duplicated into domain/ just to invert that one edge.
//   6  aggregation/, proxy-metrics/, error-logs/ (each fed what analysis or a stream yields)
//   6.5 export/ (fed the same records as the aggregator; reads the proxy-metrics store when scraped)
//   7  pipeline/ (composes protocol → identity → analysis → aggregation per stream; implements ingest's handlers)
//   8  query/
//   9  http/
//  9.5 workers/ (MESHSIGHT_WORKERS > 1: the primary and worker processes' parts, composed in app.ts)
//  10  composition: app.ts, main.ts, main-analyzers.ts, healthcheck.ts, startup-errors.ts, config.ts
// Modules of the same rank import each other only within their own folder (ingest/ and security/ are both 1, but
// ingest/ may not import security/ by rank alone — see ALLOWED). Each stage declares and reads its own settings;
// config.ts, in the composition, only lists them for start-up.
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { describe, expect, it } from "vitest"

const SRC = resolve(import.meta.dirname, "../../src")

/** [a folder (ending in /) or a file, its rank, the group whose members import each other freely]. */
const RANKS: ReadonlyArray<readonly [string, number, string?]> = [
  ["domain/", 0],
  ["util/", 0],
  ["memory/", 0.5],
  ["telemetry.ts", 0, "shared"],
  ["log-text.ts", 0, "shared"],
  ["listen-failure.ts", 0, "shared"],
  ["ingest/", 1],
  ["security/", 1],
  ["protocol/", 2],
  ["identity/", 3],
  ["analysis/", 4],
  ["store/", 5],
  ["aggregation/", 6],
  ["proxy-metrics/", 6],
  ["export/", 6.5],
  ["error-logs/", 6],
  ["pipeline/", 7],
  ["query/", 8],
  ["http/", 9],
  ["workers/", 9.5],
  ["app.ts", 10, "composition"],
  ["main.ts", 10, "composition"],
  ["main-analyzers.ts", 10, "composition"],
  ["healthcheck.ts", 10, "composition"],
  ["config.ts", 10, "composition"],
  ["startup-errors.ts", 10, "composition"]
]

/** Imports the ranks forbid but the code needs for now, each with its reason. */
const ALLOWED: ReadonlyArray<readonly [from: RegExp, to: string, why: string]> = [
  // The transport's TLS credentials and bearer tokens: both rank 1, different folders.
  [/^ingest\//, "security/", "the gRPC server's TLS credentials and call tokens"]
]

interface Stage {
  readonly group: string
  readonly rank: number
}

const stageOf = (path: string): Stage | undefined => {
  const found = RANKS.find(([prefix]) => (prefix.endsWith("/") ? path.startsWith(prefix) : path === prefix))
  return found && { group: found[2] ?? found[0], rank: found[1] }
}

const sources = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  )

/** Relative module specifiers of `import … from`, `export … from` and `import(…)`, type-only ones included. */
const importsOf = (text: string): Array<string> =>
  [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm)].map((m) => m[1])

/** Every import that breaks the order, naming the importing module and what it imports. */
const violations = (files: ReadonlyMap<string, string>): Array<string> => {
  const found: Array<string> = []
  for (const [from, text] of files) {
    const fromStage = stageOf(from)
    if (fromStage === undefined) {
      found.push(`${from} is in no stage: give it a rank in test/architecture/imports.test.ts`)
      continue
    }
    for (const specifier of importsOf(text)) {
      const to = join(dirname(from), specifier)
      const toStage = stageOf(to)
      if (toStage === undefined) {
        found.push(`${from} imports ${to}, which is in no stage`)
        continue
      }
      if (toStage.group === fromStage.group || toStage.rank < fromStage.rank) continue
      if (ALLOWED.some(([f, t]) => f.test(from) && to.startsWith(t))) continue
      found.push(
        `${from} (rank ${fromStage.rank}, ${fromStage.group}) imports ${to} (rank ${toStage.rank}, ${toStage.group}): ` +
          (toStage.rank === fromStage.rank ? "same rank, another folder" : "a later stage")
      )
    }
  }
  return found
}

const sourceTree = (): ReadonlyMap<string, string> => new Map(sources(SRC).map((file) => [relative(SRC, file), readFileSync(file, "utf8")]))

describe("imports follow the pipeline", () => {
  it("no module imports a later stage", () => {
    expect(violations(sourceTree())).toEqual([])
  })

  it("names an import of a later stage, and of another folder of the same rank", () => {
    const files = new Map([
      ["aggregation/series.ts", 'import type { MetricSummary } from "../query/api-model.ts"'],
      ["ingest/grpc-server.ts", 'import { x } from "../protocol/wire-reader.ts"\nimport { t } from "../security/tls.ts"'],
      ["security/tls.ts", 'import { s } from "../ingest/health.ts"'],
      ["pipeline/als.ts", 'import { a } from "../aggregation/aggregator.ts"\nimport { r } from "./runner.ts"'],
      ["sneaky.ts", ""]
    ])
    expect(violations(files)).toEqual([
      "aggregation/series.ts (rank 6, aggregation/) imports query/api-model.ts (rank 8, query/): a later stage",
      "ingest/grpc-server.ts (rank 1, ingest/) imports protocol/wire-reader.ts (rank 2, protocol/): a later stage",
      "security/tls.ts (rank 1, security/) imports ingest/health.ts (rank 1, ingest/): same rank, another folder",
      "sneaky.ts is in no stage: give it a rank in test/architecture/imports.test.ts"
    ])
  })

  it("finds a module's imports, type-only and dynamic ones included", () => {
    const text = [
      'import { a } from "../x/a.ts"',
      'import type { B } from "./b.ts"',
      'export { c } from "../c.ts"',
      'const d = () => import("./d.ts")',
      'import "./side-effect.ts"',
      'import { Effect } from "effect"'
    ].join("\n")
    expect(importsOf(text)).toEqual(["../x/a.ts", "./b.ts", "../c.ts", "./d.ts", "./side-effect.ts"])
  })
})
