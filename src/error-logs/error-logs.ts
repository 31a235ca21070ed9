// The `persistence` analyzer: after the identity chain, the failed entries of each message whose reporting workload
// is known become error logs (src/error-logs/selection.ts), rate-limited per service and response code / flags as
// SkyWalking's envoy-als rule samples them, and go to the configured store. Batch-shaped: one call per message.
import { Context, Effect, Layer, Metric } from "effect"
import { EndpointNaming, type EndpointNamer } from "../analysis/endpoint-names.ts"
import { httpAnalyzers, tcpAnalyzers } from "../identity/chain.ts"
import { settingConfig, settingsConfig } from "../util/setting.ts"
import { errorLogRatePerMinute, logsPostgresUrl } from "./settings.ts"
import type { AccessLog } from "../domain/access-log.ts"
import type { EntrySides } from "../domain/identity.ts"
import type { ReportingNode } from "../domain/node.ts"
import { errorLogsDropped, errorLogsKept } from "../telemetry.ts"
import { ErrorLogStore, type ErrorLogStoreShape, type NewErrorLog } from "./error-log-store.ts"
import { MemoryLogStoreLive } from "./memory-store.ts"
import { PostgresLogStoreLive } from "./postgres-store.ts"
import { makeRateLimiter } from "./rate-limit.ts"
import { errorLogOf, isFailed, limitKeyOf } from "./selection.ts"

export interface ErrorLogsShape {
  /** Keeps the failed entries of one message (entries and their identified sides, as the pipeline holds them). */
  readonly collect: (node: ReportingNode, entries: ReadonlyArray<AccessLog>, sides: ReadonlyArray<EntrySides>, nowMs: number) => void
  /**
   * The optional groups of entry fields the logs read (src/protocol/field-choice.ts): the log detail (request id,
   * user agent, trace id, code details) while failed HTTP entries become logs, the addresses while either kind does
   * (a log names the upstream address).
   */
  readonly reads: { readonly logDetail: boolean; readonly addresses: boolean }
}

export class ErrorLogs extends Context.Service<ErrorLogs, ErrorLogsShape>()("meshsight/ErrorLogs") {}

export interface CollectorOptions {
  /** Whether `persistence` is in the HTTP / TCP analyzer list. */
  readonly http: boolean
  readonly tcp: boolean
  readonly ratePerMinute: number
}

export interface CollectOutcome {
  readonly kept: number
  readonly rateLimited: number
  readonly evicted: number
}

export const makeCollector = (
  options: CollectorOptions,
  store: ErrorLogStoreShape,
  report: (outcome: CollectOutcome) => void,
  names: EndpointNamer
): ErrorLogsShape => {
  const limiter = makeRateLimiter(options.ratePerMinute)
  return {
    reads: { logDetail: options.http, addresses: options.http || options.tcp },
    collect: (node, entries, sides, nowMs) => {
      if (entries.length === 0 || !(entries[0].kind === "http" ? options.http : options.tcp)) return
      let logs: Array<NewErrorLog> | undefined
      let rateLimited = 0
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]
        const local = sides[i].local
        // SkyWalking's LogsPersistence keeps nothing for an entry whose service is unknown.
        if (local === undefined || !isFailed(e)) continue
        if (!limiter.admit(`${local.service}\u0000${limitKeyOf(e)}`, nowMs)) {
          rateLimited++
          continue
        }
        ;(logs ??= []).push(errorLogOf(node, e, sides[i], local, names))
      }
      if (logs === undefined && rateLimited === 0) return
      const evicted = logs === undefined ? 0 : store.add(logs, nowMs)
      report({ kept: logs?.length ?? 0, rateLimited, evicted })
    }
  }
}

const rateLimitedLogs = Metric.withAttributes(errorLogsDropped, { reason: "rate_limited" })
const evictedLogs = Metric.withAttributes(errorLogsDropped, { reason: "evicted" })

export const persistenceWanted = (analyzers: ReadonlyArray<string>): boolean => analyzers.includes("persistence")

/** Needs an ErrorLogStore; collects nothing unless `persistence` is in an analyzer list. */
export const ErrorLogsLive = Layer.effect(
  ErrorLogs,
  Effect.gen(function* () {
    const config = yield* settingsConfig({ httpAnalyzers, tcpAnalyzers, errorLogRatePerMinute })
    const store = yield* ErrorLogStore
    const names = yield* EndpointNaming
    const context = yield* Effect.context<never>()
    const options = {
      http: persistenceWanted(config.httpAnalyzers),
      tcp: persistenceWanted(config.tcpAnalyzers),
      ratePerMinute: config.errorLogRatePerMinute
    }
    if (options.http || options.tcp) {
      yield* Effect.logInfo(
        `error logs kept for failed ${[options.http ? "HTTP" : "", options.tcp ? "TCP" : ""].filter((k) => k).join(" and ")} entries, ` +
          `at most ${options.ratePerMinute} a minute per service and response code`
      )
    }
    // Counted synchronously from the ingest's batch loop, once per message.
    return makeCollector(
      options,
      store,
      (o) => {
        if (o.kept > 0) errorLogsKept.updateUnsafe(o.kept, context)
        if (o.rateLimited > 0) rateLimitedLogs.updateUnsafe(o.rateLimited, context)
        if (o.evicted > 0) evictedLogs.updateUnsafe(o.evicted, context)
      },
      names
    )
  })
)

/** PostgreSQL when MESHSIGHT_LOGS_POSTGRES_URL is set, else the embedded memory store. */
export const ErrorLogStoreLive = Layer.unwrap(
  Effect.gen(function* () {
    const url = yield* settingConfig(logsPostgresUrl)
    return url === "" ? MemoryLogStoreLive : PostgresLogStoreLive
  })
)
