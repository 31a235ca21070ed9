// Runs the configured analyzers in order for each side of each entry. SkyWalking stops at the first analyzer
// that produces records; meshsight fills sides independently, so what mx-mesh could not name, k8s-mesh may.
// Each analyzer is a service of its own, provided by its module's Layer (`layer` in mx-mesh/mx-mesh-analyzer.ts,
// k8s-mesh/k8s-mesh-analyzer.ts); the chain takes the ones the configuration names from its context, so a test
// or an embedding provides another analyzer by providing another Layer for that service.
import { Config, type Context, Effect, Layer, Option, Schema, SchemaGetter } from "effect"
import type { AccessLog } from "../domain/access-log.ts"
import type { EntrySides } from "../domain/identity.ts"
import type { ReportingNode } from "../domain/node.ts"
import { type Analyzer, IdentityResolver, type IdentityResolverShape, type StreamResolver } from "./identity-resolver.ts"
import { K8sMesh } from "./k8s-mesh/k8s-mesh.ts"
import { MxMesh } from "./mx-mesh/mx-mesh-analyzer.ts"
import { setting, settingsConfig } from "../util/setting.ts"

// The identity analyzers, which name the sides of each entry, and SkyWalking's `persistence`, which instead keeps
// failed entries as error logs after identification (src/error-logs/), wherever it stands in the list.
export const KNOWN_ANALYZERS = ["mx-mesh", "k8s-mesh"] as const
export const LOG_ANALYZERS = ["persistence"] as const
const LISTED_ANALYZERS = [...KNOWN_ANALYZERS, ...LOG_ANALYZERS] as const
type KnownAnalyzer = (typeof KNOWN_ANALYZERS)[number]
export type ListedAnalyzer = (typeof LISTED_ANALYZERS)[number]

/** Each analyzer's service, by the name the configuration lists it under. */
export const ANALYZER_SERVICES: Readonly<Record<KnownAnalyzer, Context.Key<any, Analyzer>>> = {
  "mx-mesh": MxMesh,
  "k8s-mesh": K8sMesh
}

const isRunnable = (name: ListedAnalyzer): name is KnownAnalyzer => (KNOWN_ANALYZERS as ReadonlyArray<string>).includes(name)

const analyzerList = Schema.Trim.pipe(
  Schema.decodeTo(Schema.Array(Schema.Literals(LISTED_ANALYZERS)).check(Schema.isMinLength(1)), {
    // Typed as the literals here; the target schema checks each name right after.
    decode: SchemaGetter.transform(
      (s: string) =>
        s
          .split(",")
          .map((x) => x.trim())
          .filter((x) => x !== "") as Array<ListedAnalyzer>
    ),
    encode: SchemaGetter.transform((xs: ReadonlyArray<string>) => xs.join(","))
  })
)
const analyzers = (names: ReadonlyArray<string>) =>
  setting<ReadonlyArray<ListedAnalyzer>>({
    names,
    schema: analyzerList,
    expected: `a comma-separated list of analyzers from: ${LISTED_ANALYZERS.join(", ")}`,
    default: ["mx-mesh"],
    validate: (xs) => (xs.some(isRunnable) ? undefined : `at least one of ${KNOWN_ANALYZERS.join(", ")}`)
  })
/** The analyzers for HTTP and for TCP entries, in the order they run, as listed (`persistence` included). */
export const httpAnalyzers = analyzers(["MESHSIGHT_HTTP_ANALYZERS", "SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS"])
export const tcpAnalyzers = analyzers(["MESHSIGHT_TCP_ANALYZERS", "SW_ENVOY_METRIC_ALS_TCP_ANALYSIS"])

/** The analyzers that run, for HTTP and for TCP entries. */
export const analyzerLists = settingsConfig({ httpAnalyzers, tcpAnalyzers }).pipe(
  Config.map((lists) => ({ http: lists.httpAnalyzers.filter(isRunnable), tcp: lists.tcpAnalyzers.filter(isRunnable) }))
)

/**
 * Analyzer Layers merged, whatever services they provide (which ones depends on the configuration, so their
 * union is not spelled out). An analyzer may hold resources (k8s-mesh's watches) for the life of its Layer.
 */
export type AnalyzerLayers = Layer.Layer<never, unknown>

export const makeChain = (http: ReadonlyArray<Analyzer>, tcp: ReadonlyArray<Analyzer>): IdentityResolverShape => {
  const all = [...new Set([...http, ...tcp])]
  return {
    http: http.map((a) => a.name),
    tcp: tcp.map((a) => a.name),
    isReady: () => all.every((a) => a.isReady()),
    reads: { addresses: all.some((a) => a.reads.addresses), filterState: all.some((a) => a.reads.filterState) },
    forStream: (node: ReportingNode): StreamResolver => {
      const perStream = new Map(all.map((a) => [a, a.forStream(node)] as const))
      const httpChain = http.map((a) => perStream.get(a)!)
      const tcpChain = tcp.map((a) => perStream.get(a)!)
      return {
        fill: (entries: ReadonlyArray<AccessLog>, sides: ReadonlyArray<EntrySides>) => {
          // An ALS message holds either HTTP or TCP entries (a proto oneof), so one chain serves the batch.
          const chain = entries.length > 0 && entries[0].kind === "tcp" ? tcpChain : httpChain
          for (const resolver of chain) resolver.fill(entries, sides)
        }
      }
    }
  }
}

/** A configured analyzer whose service no Layer provides: a mistake in the composition, not in a setting. */
export class AnalyzerNotProvided extends Schema.TaggedError<AnalyzerNotProvided>()("AnalyzerNotProvided", {
  name: Schema.String
}) {
  override get message() {
    return `analyzer ${this.name} is configured but no Layer provides it`
  }
}

/**
 * The IdentityResolver for the analyzers named in the configuration, in its order. Provide it the analyzers'
 * Layers (`src/main-analyzers.ts` picks them from the configuration).
 */
export const chainLayer = Layer.effect(
  IdentityResolver,
  Effect.gen(function* () {
    const lists = yield* analyzerLists
    const built = new Map<string, Analyzer>()
    for (const name of new Set([...lists.http, ...lists.tcp])) {
      const analyzer = yield* Effect.serviceOption(ANALYZER_SERVICES[name])
      if (Option.isNone(analyzer)) return yield* new AnalyzerNotProvided({ name })
      built.set(name, analyzer.value)
    }
    const chain = makeChain(
      lists.http.map((n) => built.get(n)!),
      lists.tcp.map((n) => built.get(n)!)
    )
    yield* Effect.logInfo(`identity analyzers active: HTTP [${chain.http.join(", ")}], TCP [${chain.tcp.join(", ")}]`)
    return chain
  })
)
