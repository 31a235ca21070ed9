// The identity analyzers this build offers, by the names the configuration uses.
import type { AnalyzerRegistry } from "./identity/chain.ts"
import { k8sMeshAnalyzer } from "./identity/k8s-mesh/k8s-mesh-analyzer.ts"
import { mxMeshAnalyzer } from "./identity/mx-mesh/mx-mesh-analyzer.ts"

export const analyzers: AnalyzerRegistry = {
  "mx-mesh": mxMeshAnalyzer,
  "k8s-mesh": k8sMeshAnalyzer
}
