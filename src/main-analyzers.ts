// The identity analyzers this build offers, by the names the configuration uses. Each module is imported only
// when an analyzer is configured: k8s-mesh brings @kubernetes/client-node, ~60 MiB of resident memory that a
// mesh using only mx-mesh should not pay for.
import { Effect } from "effect"
import type { AnalyzerRegistry } from "./identity/chain.ts"

type AnalyzerBuild = AnalyzerRegistry[string]

const modules: Readonly<Record<string, () => Promise<AnalyzerBuild>>> = {
  "mx-mesh": () => import("./identity/mx-mesh/mx-mesh-analyzer.ts").then((m) => m.mxMeshAnalyzer),
  "k8s-mesh": () => import("./identity/k8s-mesh/k8s-mesh-analyzer.ts").then((m) => m.k8sMeshAnalyzer)
}

const importWhenBuilt = (load: () => Promise<AnalyzerBuild>): AnalyzerBuild => Effect.flatten(Effect.promise(load))

/** Every analyzer, its module imported the first time it is built. */
export const analyzers: AnalyzerRegistry = Object.fromEntries(
  Object.entries(modules).map(([name, load]) => [name, importWhenBuilt(load)])
)

/**
 * The registry with the named analyzers' modules already imported. `main.ts` awaits it before building any Layer,
 * so building an analyzer (k8s-mesh without credentials) fails before any other stage has started.
 */
export const preloadAnalyzers = async (names: Iterable<string>): Promise<AnalyzerRegistry> => {
  const wanted = new Set(names)
  const entries = await Promise.all(
    Object.entries(modules).map(async ([name, load]) => [name, wanted.has(name) ? await load() : analyzers[name]] as const)
  )
  return Object.fromEntries(entries)
}
