// The k8s-mesh analyzer's service, settings and start-up error, apart from its implementation (./k8s-mesh-analyzer.ts): the
// chain, main.ts and tests name them without importing @kubernetes/client-node, which only a configuration listing
// k8s-mesh should load.
import { Context, Schema } from "effect"
import type { Analyzer } from "../identity-resolver.ts"
import { templateSetting } from "../name-template.ts"

export class K8sMesh extends Context.Service<K8sMesh, Analyzer>()("meshsight/K8sMesh") {}

/** Start-up stops with this one line when there is no way to reach the API server. */
export class K8sCredentialsError extends Schema.TaggedError<K8sCredentialsError>()("K8sCredentialsError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `k8s-mesh cannot reach the Kubernetes API: ${this.reason}`
  }
}

export const DEFAULT_K8S_SERVICE_NAME_RULE = "${pod.metadata.labels.(service.istio.io/canonical-name)}.${pod.metadata.namespace}"
export const DEFAULT_K8S_INSTANCE_NAME_RULE = "${pod.metadata.name}.${pod.metadata.namespace}"
/** The entry's first host; SkyWalking's default is `${serviceEntry.metadata.name}.${serviceEntry.metadata.namespace}`. */
export const DEFAULT_ISTIO_SERVICE_NAME_RULE = "${serviceEntry.spec.hosts.0}"

export const k8sServiceNameRule = templateSetting(
  ["MESHSIGHT_K8S_SERVICE_NAME_RULE", "K8S_SERVICE_NAME_RULE"],
  DEFAULT_K8S_SERVICE_NAME_RULE
)
export const k8sInstanceNameRule = templateSetting(["MESHSIGHT_K8S_INSTANCE_NAME_RULE"], DEFAULT_K8S_INSTANCE_NAME_RULE)
export const istioServiceNameRule = templateSetting(
  ["MESHSIGHT_ISTIO_SERVICE_NAME_RULE", "ISTIO_SERVICE_NAME_RULE"],
  DEFAULT_ISTIO_SERVICE_NAME_RULE
)
