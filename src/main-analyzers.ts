// The identity analyzers this build offers, by the names the configuration uses.
import type { AnalyzerRegistry } from "./identity/chain.ts"
import { mxMeshAnalyzer } from "./identity/mx-mesh/mx-mesh-analyzer.ts"

export const analyzers: AnalyzerRegistry = {
  "mx-mesh": mxMeshAnalyzer
}
