// Where error logs are kept: in memory (the embedded default) or in PostgreSQL (shared by replicas).
import { Context, type Effect, Schema } from "effect"
import type { ErrorLog, ErrorLogPage, LogQuery } from "./error-log.ts"

/** A log before a store gave it its id. */
export type NewErrorLog = Omit<ErrorLog, "id">

export class LogsUnavailable extends Schema.TaggedError<LogsUnavailable>()("LogsUnavailable", { message: Schema.String }) {}

export interface ErrorLogStoreShape {
  /**
   * Takes a batch of logs, synchronously: ingest never waits for storage. Returns how many older logs were evicted
   * to make room (the memory store; the PostgreSQL store counts its own refusals).
   */
  readonly add: (logs: ReadonlyArray<NewErrorLog>, nowMs: number) => number
  readonly query: (q: LogQuery, nowMs: number) => Effect.Effect<ErrorLogPage, LogsUnavailable>
}

export class ErrorLogStore extends Context.Service<ErrorLogStore, ErrorLogStoreShape>()("meshsight/ErrorLogStore") {}
