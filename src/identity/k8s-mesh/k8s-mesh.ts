// The k8s-mesh analyzer's service and start-up error, apart from its implementation (./k8s-mesh-analyzer.ts): the
// chain, main.ts and tests name them without importing @kubernetes/client-node, which only a configuration listing
// k8s-mesh should load.
import { Context, Schema } from "effect"
import type { Analyzer } from "../identity-resolver.ts"

export class K8sMesh extends Context.Service<K8sMesh, Analyzer>()("meshsight/K8sMesh") {}

/** Start-up stops with this one line when there is no way to reach the API server. */
export class K8sCredentialsError extends Schema.TaggedError<K8sCredentialsError>()("K8sCredentialsError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `k8s-mesh cannot reach the Kubernetes API: ${this.reason}`
  }
}
