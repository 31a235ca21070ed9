// The identify stage: who is on each side of every entry. Each analyzer (mx-mesh, k8s-mesh, …) builds an
// `Analyzer`; the IdentityResolver service chains the configured ones (./chain.ts), each filling what the
// previous left unknown.
import { Context } from "effect"
import type { AccessLog } from "../domain/access-log.ts"
import type { EntrySides } from "../domain/identity.ts"
import type { ReportingNode } from "../domain/node.ts"

/** Per-stream resolver: a stream has one reporting node for its whole life, so per-node work is done once. */
export interface StreamResolver {
  /**
   * Fills `sides[i]` for `entries[i]`, only where a side is still `undefined`. Synchronous and batch-shaped:
   * lookups are in-memory map hits, never I/O per entry.
   */
  readonly fill: (entries: ReadonlyArray<AccessLog>, sides: ReadonlyArray<EntrySides>) => void
}

export interface Analyzer {
  readonly name: string
  readonly forStream: (node: ReportingNode) => StreamResolver
  /** False until the analyzer can answer (k8s-mesh: before its first full sync); feeds /readyz. */
  readonly isReady: () => boolean
  /**
   * Whether it reads the entries' addresses (k8s-mesh identifies by IP; mx-mesh by the peer metadata). When no
   * analyzer and no error log does, the decoder skips them (src/protocol/field-choice.ts).
   */
  readonly readsAddresses: boolean
}

export interface IdentityResolverShape {
  /** The analyzers behind this resolver, in the order they run, for HTTP and for TCP entries. */
  readonly http: ReadonlyArray<string>
  readonly tcp: ReadonlyArray<string>
  readonly forStream: (node: ReportingNode) => StreamResolver
  readonly isReady: () => boolean
  /** Whether any of the analyzers reads the entries' addresses. */
  readonly readsAddresses: boolean
}

export class IdentityResolver extends Context.Service<IdentityResolver, IdentityResolverShape>()("meshsight/IdentityResolver") {}
