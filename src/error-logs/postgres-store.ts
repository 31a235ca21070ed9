// Error logs in PostgreSQL (MESHSIGHT_LOGS_POSTGRES_URL), so that every replica's /api/logs shows every replica's
// logs. Ingest only appends to a bounded in-memory queue; a background fiber writes it out in batches and retries
// while the database is away (a full queue refuses new logs, counted as queue_full). meshsight creates and
// migrates its own tables (meshsight_schema_version records how far), and deletes rows past
// MESHSIGHT_LOGS_RETENTION_HOURS. Client: `postgres` (porsager), pure JavaScript.
import { Cause, Clock, Duration, Effect, Layer, Metric, Schedule, Semaphore } from "effect"
import postgres from "postgres"
import { AppConfig } from "../config.ts"
import { errorLogsDropped } from "../telemetry.ts"
import { type ErrorLog, type LogQuery, pageOf } from "./error-log.ts"
import { ErrorLogStore, type ErrorLogStoreShape, LogsUnavailable, type NewErrorLog } from "./error-log-store.ts"

/** Logs waiting to be written at most; past this, new logs are refused (and counted) until the database is back. */
export const QUEUE_MAX = 20_000
/** Logs per INSERT. */
export const BATCH_MAX = 500
const FLUSH_INTERVAL = Duration.seconds(1)
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

export type Sql = postgres.Sql

/** Brings the schema to the latest version; returns the versions it applied. */
export const migrate = (sql: Sql): Promise<number> =>
  sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`
    await tx`create table if not exists meshsight_schema_version (version integer not null)`
    const rows = await tx<Array<{ version: number }>>`select version from meshsight_schema_version`
    const from = rows.length === 0 ? 0 : rows[0].version
    for (const step of MIGRATIONS.slice(from)) await tx.unsafe(step)
    if (rows.length === 0) await tx`insert into meshsight_schema_version (version) values (${MIGRATIONS.length})`
    else await tx`update meshsight_schema_version set version = ${MIGRATIONS.length}`
    return MIGRATIONS.length - from
  })

const insert = (sql: Sql, logs: ReadonlyArray<NewErrorLog>) =>
  sql`insert into meshsight_error_logs ${
    sql(logs.map((l) => ({
      time_ms: l.time,
      service: l.service,
      instance: l.instance,
      peer: l.peer,
      endpoint: l.endpoint,
      response_code: l.responseCode,
      log: JSON.stringify(l)
    })))
  }`

/** Deletes rows older than the retention; returns how many. */
export const deleteExpired = async (sql: Sql, nowMs: number, retentionHours: number): Promise<number> =>
  (await sql`delete from meshsight_error_logs where time_ms < ${nowMs - retentionHours * HOUR_MS}`).count

const select = (sql: Sql, q: LogQuery, cutoffMs: number) => {
  const start = Math.max(cutoffMs, q.start ?? 0)
  const after = q.after
  return sql<Array<{ id: string; time_ms: string; log: string }>>`
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
 * A server-side rejection of the data itself (SQLSTATE classes 22 data exception, 23 integrity): writing the batch
 * again cannot succeed, so it is dropped. Anything else (connection refused or lost, shutdown, 08/57/53) is retried.
 */
const isPermanent = (e: unknown): boolean =>
  e instanceof postgres.PostgresError && (e.code.startsWith("22") || e.code.startsWith("23"))

const queueFull = Metric.withAttributes(errorLogsDropped, { reason: "queue_full" })
const writeFailed = Metric.withAttributes(errorLogsDropped, { reason: "write_failed" })

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e))

export interface PostgresLogStoreOptions {
  readonly url: string
  readonly retentionHours: number
  /** Pool size. */
  readonly connections?: number
}

/** The store on an open client; its writer and retention fibers run in the current Scope. */
export const makePostgresLogStore = (options: PostgresLogStoreOptions) =>
  Effect.gen(function*() {
    const sql = yield* Effect.acquireRelease(
      Effect.sync(() =>
        postgres(options.url, {
          max: options.connections ?? 4,
          connect_timeout: 5,
          idle_timeout: 60,
          // No array types are used; the type query it would run on each new connection rejects unhandled when the
          // connection drops mid-way (seen with the database restarting), and an unhandled rejection ends Node.
          fetch_types: false,
          onnotice: () => {}
        })
      ),
      (sql) => Effect.promise(() => sql.end({ timeout: 5 }))
    )
    const context = yield* Effect.context<never>()
    let queue: Array<NewErrorLog> = []
    let migrated = false
    let failing = false

    const ensureSchema = Effect.gen(function*() {
      if (migrated) return
      const applied = yield* Effect.tryPromise(() => migrate(sql))
      migrated = true
      if (applied > 0) yield* Effect.logInfo(`error-log schema in PostgreSQL migrated to version ${MIGRATIONS.length}`)
    })

    // One writer at a time: the shutdown's last flush waits for a batch in flight instead of writing it again.
    const writing = yield* Semaphore.make(1)

    /** Writes the queue out, a batch at a time; stops at the first failure, leaving the rest queued. */
    const flush = writing.withPermit(Effect.gen(function*() {
      yield* ensureSchema
      while (queue.length > 0) {
        const batch = queue.slice(0, BATCH_MAX)
        const written = yield* Effect.tryPromise(() => insert(sql, batch)).pipe(
          Effect.as(true),
          Effect.catch((e) =>
            isPermanent(e.cause)
              ? Effect.as(
                Effect.andThen(
                  Metric.update(writeFailed, batch.length),
                  Effect.logWarning(`PostgreSQL refused ${batch.length} error logs, dropped: ${describe(e.cause)}`)
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
    }))

    // 1 s, 2 s, 4 s … then every 30 s while the database stays away.
    const retry = Schedule.min([Schedule.exponential("1 second"), Schedule.spaced("30 seconds")])
    const writer = flush.pipe(
      Effect.tapError((e) =>
        failing ? Effect.void : Effect.sync(() => (failing = true)).pipe(
          Effect.andThen(Effect.logWarning(
            `cannot write error logs to PostgreSQL (${describe(e.cause)}); retrying, ${queue.length} queued, at most ${QUEUE_MAX}`
          ))
        )
      ),
      Effect.retry(retry),
      Effect.andThen(Effect.sleep(FLUSH_INTERVAL)),
      Effect.forever
    )

    const expire = Effect.gen(function*() {
      yield* ensureSchema
      const now = yield* Clock.currentTimeMillis
      const n = yield* Effect.tryPromise(() => deleteExpired(sql, now, options.retentionHours))
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
      flush.pipe(Effect.timeout("5 seconds"), Effect.catchCause(() => Effect.void))
    )

    const store: ErrorLogStoreShape = {
      add: (logs) => {
        const room = QUEUE_MAX - queue.length
        if (room >= logs.length) for (const l of logs) queue.push(l)
        else {
          for (let i = 0; i < room; i++) queue.push(logs[i])
          queueFull.updateUnsafe(logs.length - room, context)
        }
        return 0
      },
      query: (q, nowMs) =>
        Effect.tryPromise({
          try: () => select(sql, q, nowMs - options.retentionHours * HOUR_MS),
          catch: (e) => new LogsUnavailable({ message: `the error-log database cannot be read: ${describe(e)}` })
        }).pipe(
          Effect.map((rows) =>
            pageOf(
              rows.map((r) => ({
                log: { ...(JSON.parse(r.log) as NewErrorLog), id: r.id } satisfies ErrorLog,
                position: { time: Number(r.time_ms), id: Number(r.id) }
              })),
              { ...q, after: undefined }
            )
          )
        )
    }
    return { store, sql, queued: () => queue.length }
  })

export const PostgresLogStoreLive = Layer.effect(
  ErrorLogStore,
  Effect.gen(function*() {
    const config = yield* AppConfig
    const { store } = yield* makePostgresLogStore({ url: config.logsPostgresUrl, retentionHours: config.logsRetentionHours })
    return store
  })
)
