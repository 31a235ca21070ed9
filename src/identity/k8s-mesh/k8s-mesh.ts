// The k8s-mesh analyzer's service, apart from its implementation (./k8s-mesh-analyzer.ts): the chain and tests name
// it without importing @kubernetes/client-node, which only a configuration listing k8s-mesh should load.
import { Context } from "effect"
import type { Analyzer } from "../identity-resolver.ts"

export class K8sMesh extends Context.Service<K8sMesh, Analyzer>()("meshsight/K8sMesh") {}
