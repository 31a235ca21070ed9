// Error logs in PostgreSQL (MESHSIGHT_LOGS_POSTGRES_URL), so that every replica's /api/logs shows every replica's
// logs. Ingest only appends to a bounded in-memory queue; a background fiber writes it out in batches and retries
// while the database is away (a full queue refuses new logs, counted as queue_full). meshsight creates and
// migrates its own tables (meshsight_schema_version records how far), and deletes rows past
// MESHSIGHT_LOGS_RETENTION_HOURS. Client: @effect/sql-pg (docs/error-logs.md says why).
import { PgClient } from "@effect/sql-pg"
import { Array as Arr, Cause, Clock, Duration, Effect, Layer, Metric, Redacted, Schedule, Semaphore } from "effect"
import { Reactivity } from "effect/reactivity"
import type { SqlError } from "effect/sql/SqlError"
import { settingsConfig } from "../util/setting.ts"
import { logsPostgresUrl, logsRetentionHours } from "./settings.ts"
import { errorLogsDropped } from "../telemetry.ts"
import { type ErrorLog, type LogQuery, pageOf } from "./error-log.ts"
import { ErrorLogStore, type ErrorLogStoreShape, LogsUnavailable, type NewErrorLog } from "./error-log-store.ts"
/** Logs waiting to be written at most; past this, new logs are refused (and counted) until the database is back. */
export const QUEUE_MAX = 20_000
/** Logs per INSERT. */
export const BATCH_MAX = 500
const FLUSH_INTERVAL = Duration.seconds(1)
/**
 * Longest wait for one statement. A connection the server dropped while idle (a restart) can leave a statement
 * unanswered; timing it out lets the retry take a fresh connection instead of holding the writer forever.
 */
const STATEMENT_TIMEOUT = Duration.seconds(10)
const RETENTION_INTERVAL = Duration.minutes(5)
const HOUR_MS = 3_600_000

/** Each step runs once, in order, in one transaction; the version is the number of steps applied. Append only. */
export const MIGRATIONS: ReadonlyArray<string> = [
  `create table meshsight_error_logs (
     id bigserial primary key,
     time_ms bigint not null,
     service text not null,
     instance text not null,
     peer text,
     endpoint text not null,
     response_code integer,
     log text not null
   )`,
  // One index per filter of GET /api/logs, each ending in the page order (time_ms, id) descending.
  "create index meshsight_error_logs_time on meshsight_error_logs (time_ms desc, id desc)",
  "create index meshsight_error_logs_service on meshsight_error_logs (service, time_ms desc, id desc)",
  "create index meshsight_error_logs_peer on meshsight_error_logs (peer, time_ms desc, id desc)",
  "create index meshsight_error_logs_endpoint on meshsight_error_logs (service, endpoint, time_ms desc, id desc)",
  "create index meshsight_error_logs_code on meshsight_error_logs (response_code, time_ms desc, id desc)"
]

/** Any fixed number: replicas starting together take turns migrating under this advisory lock. */
const MIGRATION_LOCK = 0x6d657368

export type Sql = PgClient.PgClient

/** Brings the schema to the latest version; returns how many steps it applied. */
export const migrate = (sql: Sql): Effect.Effect<number, SqlError> =>
  sql.withTransaction(
    Effect.gen(function* () {
      yield* sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`
      yield* sql`create table if not exists meshsight_schema_version (version integer not null)`
      const rows = yield* sql<{ readonly version: number }>`select version from meshsight_schema_version`
      const from = rows.length === 0 ? 0 : rows[0].version
      for (const step of MIGRATIONS.slice(from)) yield* sql.unsafe(step)
      if (rows.length === 0) yield* sql`insert into meshsight_schema_version (version) values (${MIGRATIONS.length})`
      else yield* sql`update meshsight_schema_version set version = ${MIGRATIONS.length}`
      return MIGRATIONS.length - from
    })
  )

const insert = (sql: Sql, logs: Arr.NonEmptyReadonlyArray<NewErrorLog>) =>
  sql`insert into meshsight_error_logs ${sql.insert(
    Arr.map(
      logs,
      (l): Record<string, unknown> => ({
        time_ms: l.time,
        service: l.service,
        instance: l.instance,
        peer: l.peer,
        endpoint: l.endpoint,
        response_code: l.responseCode,
        log: JSON.stringify(l)
      })
    )
  )}`

/** Deletes rows older than the retention; returns how many. */
export const deleteExpired = (sql: Sql, nowMs: number, retentionHours: number): Effect.Effect<number, SqlError> =>
  Effect.map(
    sql<{ readonly n: number }>`with gone as (
      delete from meshsight_error_logs where time_ms < ${nowMs - retentionHours * HOUR_MS} returning 1
    ) select count(*)::int as n from gone`,
    (rows) => rows[0].n
  )

const select = (sql: Sql, q: LogQuery, cutoffMs: number) => {
  const start = Math.max(cutoffMs, q.start ?? 0)
  const after = q.after
  return sql<{ readonly id: bigint; readonly time_ms: bigint; readonly log: string }>`
    select id, time_ms, log from meshsight_error_logs
    where time_ms >= ${start}
    ${q.end !== undefined ? sql`and time_ms < ${q.end}` : sql``}
    ${q.service !== undefined ? sql`and service = ${q.service}` : sql``}
    ${q.instance !== undefined ? sql`and instance = ${q.instance}` : sql``}
    ${q.peer !== undefined ? sql`and peer = ${q.peer}` : sql``}
    ${q.endpoint !== undefined ? sql`and endpoint = ${q.endpoint}` : sql``}
    ${q.code !== undefined ? sql`and response_code = ${q.code}` : sql``}
    ${after !== undefined ? sql`and (time_ms, id) < (${after.time}, ${after.id})` : sql``}
    order by time_ms desc, id desc
    limit ${q.limit + 1}`
}

/**
 * A server-side rejection of the data itself (integrity, or SQLSTATE class 22 data exception): writing the batch
 * again cannot succeed, so it is dropped. Anything else (connection refused or lost, shutdown) is retried.
 */
const isPermanent = (e: SqlError): boolean => {
  const reason = e.cause
  if (reason._tag === "ConstraintError" || reason._tag === "UniqueViolation") return true
  const code = (reason.cause as { readonly code?: unknown } | undefined)?.code
  return reason._tag === "UnknownError" && typeof code === "string" && code.startsWith("22")
}

const queueFull = Metric.withAttributes(errorLogsDropped, { reason: "queue_full" })
const writeFailed = Metric.withAttributes(errorLogsDropped, { reason: "write_failed" })

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e))

export interface PostgresLogStoreOptions {
  readonly url: string
  readonly retentionHours: number
  /** Pool size. */
  readonly connections?: number
}

/** The store on a client pool; its writer and retention fibers run in the current Scope. */
export const makePostgresLogStore = (options: PostgresLogStoreOptions) =>
  Effect.gen(function* () {
    // The pool connects on first use, so a database that is away at start-up holds nothing up; it closes with the
    // Scope, after the last flush below.
    const sql = yield* PgClient.make({
      url: Redacted.make(options.url),
      maxConnections: options.connections ?? 4,
      connectTimeout: "5 seconds",
      idleTimeout: "60 seconds"
    }).pipe(Effect.provide(Reactivity.layer))
    const context = yield* Effect.context<never>()
    let queue: Array<NewErrorLog> = []
    let migrated = false
    let failing = false

    const ensureSchema = Effect.gen(function* () {
      if (migrated) return
      const applied = yield* migrate(sql).pipe(Effect.timeout(STATEMENT_TIMEOUT))
      migrated = true
      if (applied > 0) yield* Effect.logInfo(`error-log schema in PostgreSQL migrated to version ${MIGRATIONS.length}`)
    })

    // One writer at a time: the shutdown's last flush waits for a batch in flight instead of writing it again.
    const writing = yield* Semaphore.make(1)

    /** Writes the queue out, a batch at a time; stops at the first failure, leaving the rest queued. */
    const flush = writing.withPermit(
      Effect.gen(function* () {
        yield* ensureSchema
        for (let batch = queue.slice(0, BATCH_MAX); Arr.isReadonlyArrayNonEmpty(batch); batch = queue.slice(0, BATCH_MAX)) {
          const written = yield* insert(sql, batch).pipe(
            Effect.timeout(STATEMENT_TIMEOUT),
            Effect.as(true),
            Effect.catch((e) =>
              e._tag === "SqlError" && isPermanent(e)
                ? Effect.as(
                    Effect.andThen(
                      Metric.update(writeFailed, batch.length),
                      Effect.logWarning(`PostgreSQL refused ${batch.length} error logs, dropped: ${e.message}`)
                    ),
                    true
                  )
                : Effect.fail(e)
            )
          )
          if (written) queue = queue.slice(batch.length)
        }
        if (failing) {
          failing = false
          yield* Effect.logInfo("PostgreSQL reachable again: error logs are written")
        }
      })
    )

    // 1 s, 2 s, 4 s … then every 30 s while the database stays away.
    const retry = Schedule.min([Schedule.exponential("1 second"), Schedule.spaced("30 seconds")])
    // Defects too (a client that throws) become retried failures: the writer must outlive anything a write does.
    const writer = flush.pipe(
      Effect.sandbox,
      Effect.tapError((cause) =>
        failing
          ? Effect.void
          : Effect.sync(() => (failing = true)).pipe(
              Effect.andThen(
                Effect.logWarning(
                  `cannot write error logs to PostgreSQL (${describe(Cause.squash(cause))}); retrying, ${queue.length} queued, at most ${QUEUE_MAX}`
                )
              )
            )
      ),
      Effect.retry(retry),
      Effect.andThen(Effect.sleep(FLUSH_INTERVAL)),
      Effect.forever
    )

    const expire = Effect.gen(function* () {
      yield* ensureSchema
      const now = yield* Clock.currentTimeMillis
      const n = yield* deleteExpired(sql, now, options.retentionHours).pipe(Effect.timeout(STATEMENT_TIMEOUT))
      if (n > 0) yield* Effect.logDebug(`deleted ${n} error logs older than ${options.retentionHours} h`)
    }).pipe(
      Effect.catchCause((cause) => Effect.logDebug(`error-log retention skipped: ${Cause.pretty(cause)}`)),
      Effect.andThen(Effect.sleep(RETENTION_INTERVAL)),
      Effect.forever
    )

    yield* Effect.forkScoped(writer)
    yield* Effect.forkScoped(expire)
    // At shutdown, one last try to write what is queued (bounded: a database that is away does not hold it up).
    yield* Effect.addFinalizer(() =>
      flush.pipe(
        Effect.timeout("5 seconds"),
        Effect.catchCause(() => Effect.void)
      )
    )

    const store: ErrorLogStoreShape = {
      add: (logs) => {
        const room = QUEUE_MAX - queue.length
        if (room >= logs.length) for (const l of logs) queue.push(l)
        else {
          for (let i = 0; i < room; i++) queue.push(logs[i])
          queueFull.updateUnsafe(logs.length - room, context)
        }
        return 0 // refusals are counted here, as queue_full; nothing is evicted
      },
      query: (q, nowMs) =>
        select(sql, q, nowMs - options.retentionHours * HOUR_MS).pipe(
          Effect.timeout(STATEMENT_TIMEOUT),
          Effect.mapError((e) => new LogsUnavailable({ message: `the error-log database cannot be read: ${describe(e)}` })),
          Effect.map((rows) =>
            pageOf(
              rows.map((r) => ({
                log: { ...(JSON.parse(r.log) as NewErrorLog), id: String(r.id) } satisfies ErrorLog,
                position: { time: Number(r.time_ms), id: Number(r.id) }
              })),
              { ...q, after: undefined }
            )
          )
        )
    }
    return store
  })

export const PostgresLogStoreLive = Layer.effect(
  ErrorLogStore,
  Effect.gen(function* () {
    const config = yield* settingsConfig({ logsPostgresUrl, logsRetentionHours })
    return yield* makePostgresLogStore({ url: config.logsPostgresUrl, retentionHours: config.logsRetentionHours })
  })
)
