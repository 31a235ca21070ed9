// The identity analyzers this build offers, by the names the configuration uses: each name's module and the
// Layer it exports. A module is imported only when its analyzer is configured: k8s-mesh brings
// @kubernetes/client-node, ~60 MiB of resident memory that a mesh using only mx-mesh should not pay for.
import { Effect, Layer } from "effect"
import { type AnalyzerLayers, analyzerLists } from "./identity/chain.ts"

const modules: Readonly<Record<string, () => Promise<AnalyzerLayers>>> = {
  "mx-mesh": () => import("./identity/mx-mesh/mx-mesh-analyzer.ts").then((m) => m.layer),
  "k8s-mesh": () => import("./identity/k8s-mesh/k8s-mesh-analyzer.ts").then((m) => m.layer)
}

/**
 * The Layers of the named analyzers, merged, with their modules imported. `main.ts` awaits it before building any
 * Layer, so building an analyzer (k8s-mesh without credentials) fails before any other stage has started. A name
 * this build does not have is left to the chain, which names the ones it has.
 */
export const analyzerLayers = async (names: Iterable<string>): Promise<AnalyzerLayers> => {
  const layers = await Promise.all([...new Set(names)].flatMap((name) => (modules[name] ? [modules[name]()] : [])))
  return layers.reduce((all, layer) => Layer.merge(all, layer), Layer.empty as AnalyzerLayers)
}

/** The configured analyzers' Layers, read from the ConfigProvider in context (tests, embedding). */
export const configuredAnalyzers: AnalyzerLayers = Layer.unwrap(
  Effect.flatMap(analyzerLists, (lists) => Effect.promise(() => analyzerLayers([...lists.http, ...lists.tcp])))
)
