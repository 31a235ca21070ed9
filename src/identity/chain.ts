// Runs the configured analyzers in order for each side of each entry. SkyWalking stops at the first analyzer
// that produces records; meshsight fills sides independently, so what mx-mesh could not name, k8s-mesh may.
import { Effect, Layer, Schema, Scope } from "effect"
import type { AccessLog } from "../domain/access-log.ts"
import type { EntrySides } from "../domain/identity.ts"
import type { ReportingNode } from "../domain/node.ts"
import { AppConfig } from "../config.ts"
import { type Analyzer, IdentityResolver, type IdentityResolverShape, type StreamResolver } from "./identity-resolver.ts"

/**
 * How to build each analyzer by name; `main.ts` passes the real ones, tests may pass others. An analyzer may hold
 * resources (k8s-mesh's informers) for the life of the Scope it is built in.
 */
export type AnalyzerRegistry = Readonly<Record<string, Effect.Effect<Analyzer, unknown, Scope.Scope | AppConfig>>>

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

export class UnknownAnalyzer extends Schema.TaggedError<UnknownAnalyzer>()("UnknownAnalyzer", {
  name: Schema.String,
  available: Schema.Array(Schema.String)
}) {
  override get message() {
    return `unknown analyzer ${this.name}: this build has ${this.available.join(", ")}`
  }
}

/** The IdentityResolver for the analyzers named in the configuration, each built once. */
export const chainLayer = (registry: AnalyzerRegistry) =>
  Layer.effect(
    IdentityResolver,
    Effect.gen(function*() {
      const config = yield* AppConfig
      // `persistence` keeps error logs after the chain (src/error-logs/); it names no side.
      const httpNames = config.httpAnalyzers.filter((n) => n !== "persistence")
      const tcpNames = config.tcpAnalyzers.filter((n) => n !== "persistence")
      const built = new Map<string, Analyzer>()
      for (const name of new Set([...httpNames, ...tcpNames])) {
        const make = registry[name]
        if (make === undefined) {
          return yield* new UnknownAnalyzer({ name, available: Object.keys(registry) })
        }
        built.set(name, yield* make)
      }
      const chain = makeChain(httpNames.map((n) => built.get(n)!), tcpNames.map((n) => built.get(n)!))
      yield* Effect.logInfo(
        `identity analyzers active: HTTP [${chain.http.join(", ")}], TCP [${chain.tcp.join(", ")}]`
      )
      return chain
    })
  )
