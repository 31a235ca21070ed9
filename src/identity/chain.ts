// Runs the configured analyzers in order for each side of each entry. SkyWalking stops at the first analyzer
// that produces records; meshsight fills sides independently, so what mx-mesh could not name, k8s-mesh may.
// Each analyzer is a service of its own, provided by its module's Layer (`layer` in mx-mesh/mx-mesh-analyzer.ts,
// k8s-mesh/k8s-mesh-analyzer.ts); the chain takes the ones the configuration names from its context, so a test
// or an embedding provides another analyzer by providing another Layer for that service.
import { type Context, Effect, Layer, Option, Schema } from "effect"
import type { AccessLog } from "../domain/access-log.ts"
import type { EntrySides } from "../domain/identity.ts"
import type { ReportingNode } from "../domain/node.ts"
import { AppConfig } from "../config.ts"
import { type Analyzer, IdentityResolver, type IdentityResolverShape, type StreamResolver } from "./identity-resolver.ts"
import { K8sMesh } from "./k8s-mesh/k8s-mesh.ts"
import { MxMesh } from "./mx-mesh/mx-mesh-analyzer.ts"

/** Each analyzer's service, by the name the configuration lists it under. */
export const ANALYZER_SERVICES: Readonly<Record<string, Context.Key<any, Analyzer>>> = {
  "mx-mesh": MxMesh,
  "k8s-mesh": K8sMesh
}

/**
 * Analyzer Layers merged, whatever services they provide (which ones depends on the configuration, so their
 * union is not spelled out). An analyzer may hold resources (k8s-mesh's watches) for the life of its Layer.
 */
export type AnalyzerLayers = Layer.Layer<never, unknown, AppConfig>

export const makeChain = (http: ReadonlyArray<Analyzer>, tcp: ReadonlyArray<Analyzer>): IdentityResolverShape => {
  const all = [...new Set([...http, ...tcp])]
  return {
    http: http.map((a) => a.name),
    tcp: tcp.map((a) => a.name),
    isReady: () => all.every((a) => a.isReady()),
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
  Effect.gen(function*() {
    const config = yield* AppConfig
    const built = new Map<string, Analyzer>()
    for (const name of new Set([...config.httpAnalyzers, ...config.tcpAnalyzers])) {
      // The configuration accepts only names this build has (src/config.ts KNOWN_ANALYZERS).
      const service = ANALYZER_SERVICES[name]
      const analyzer = service === undefined ? Option.none() : yield* Effect.serviceOption(service)
      if (Option.isNone(analyzer)) return yield* new AnalyzerNotProvided({ name })
      built.set(name, analyzer.value)
    }
    const chain = makeChain(
      config.httpAnalyzers.map((n) => built.get(n)!),
      config.tcpAnalyzers.map((n) => built.get(n)!)
    )
    yield* Effect.logInfo(
      `identity analyzers active: HTTP [${chain.http.join(", ")}], TCP [${chain.tcp.join(", ")}]`
    )
    return chain
  })
)
