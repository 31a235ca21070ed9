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
   * Which optional groups of entry fields it reads: k8s-mesh identifies by the addresses' IPs, mx-mesh by the peer
   * metadata in the filter state. A group that no analyzer (nor anything after them) reads is not decoded
   * (src/protocol/field-choice.ts).
   */
  readonly reads: EntryFieldsRead
}

export interface EntryFieldsRead {
  readonly addresses: boolean
  readonly filterState: boolean
}

export interface IdentityResolverShape {
  /** The analyzers behind this resolver, in the order they run, for HTTP and for TCP entries. */
  readonly http: ReadonlyArray<string>
  readonly tcp: ReadonlyArray<string>
  readonly forStream: (node: ReportingNode) => StreamResolver
  readonly isReady: () => boolean
  /** The groups of entry fields any of the analyzers reads. */
  readonly reads: EntryFieldsRead
}

export class IdentityResolver extends Context.Service<IdentityResolver, IdentityResolverShape>()("meshsight/IdentityResolver") {}
