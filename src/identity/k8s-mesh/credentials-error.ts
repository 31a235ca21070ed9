// Kept apart from kube-client.ts so that main.ts can recognise it without loading @kubernetes/client-node.
import { Schema } from "effect"

/** Start-up stops with this one line when there is no way to reach the API server. */
export class K8sCredentialsError extends Schema.TaggedError<K8sCredentialsError>()("K8sCredentialsError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `k8s-mesh cannot reach the Kubernetes API: ${this.reason}`
  }
}
