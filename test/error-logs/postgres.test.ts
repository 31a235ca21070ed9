// Error logs shared through a real PostgreSQL (a throw-away cluster, test/support/postgres.ts): two meshsight
// replicas write, either one's /api/logs shows both; the database stopped and started again: ingest never waits,
// what does not fit the queue is counted, the rest is written once it is back; rows past the retention are deleted.
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Redacted, Scope } from "effect"
import { Reactivity } from "effect/reactivity"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { MIGRATIONS, QUEUE_MAX } from "../../src/error-logs/postgres-store.ts"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { alsMessageJson, type CallPeers, inboundHttpEntry, outboundHttpEntry, type Workload } from "../../sim/istio-entries.ts"
import { sendAlsMessages } from "../support/als-client.ts"
import { getJson } from "../support/http-json.ts"
import { metricValue } from "../../testkit/meshsight-process.ts"
import { startMeshsightAsync } from "../support/meshsight.ts"
import { startTestPostgres, type TestPostgres } from "../support/postgres.ts"
import { waitFor } from "../support/wait-for.ts"

const pod = (app: string, ip: string): Workload => ({ name: `${app}-0`, namespace: "default", ip, labels: { app }, workloadName: app })
const productpage = pod("productpage", "10.0.0.1")
const reviews = pod("reviews", "10.0.0.2")
const peers: CallPeers = { client: productpage, server: reviews, port: 9080, host: "reviews.default.svc.cluster.local" }

let pg: TestPostgres
let client: PgClient.PgClient
const scope = Effect.runSync(Scope.make())
/** Runs a query of the test's own client, for what the API does not show (rows, schema, indexes). */
const sql = <A extends object>(strings: TemplateStringsArray, ...args: Array<unknown>): Promise<ReadonlyArray<A>> =>
  Effect.runPromise(client<A>(strings, ...(args as Array<any>)))
beforeAll(async () => {
  pg = await startTestPostgres()
  client = await Effect.runPromise(
    PgClient.make({ url: Redacted.make(pg.url) }).pipe(Effect.provide(Reactivity.layer), Scope.provide(scope))
  )
}, 120_000)
afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  pg?.remove()
})

/** A replica, once its schema is in place (it migrates in the background: a database that is away holds up nothing). */
const replica = async (retentionHours = 72) => {
  const app = await startMeshsightAsync({
    config: {
      MESHSIGHT_HTTP_ANALYZERS: "mx-mesh,persistence",
      MESHSIGHT_TCP_ANALYZERS: "mx-mesh,persistence",
      MESHSIGHT_ERROR_LOG_RATE_PER_MINUTE: "1000000",
      MESHSIGHT_LOGS_POSTGRES_URL: String(pg.url),
      MESHSIGHT_LOGS_RETENTION_HOURS: String(retentionHours)
    }
  })
  await waitFor(
    "the schema",
    () => sql<{ ready: boolean }>`select to_regclass('meshsight_schema_version') is not null as ready`.then((r) => r[0].ready),
    (ready) => ready,
    60_000,
    250
  )
  await waitFor(
    "the version",
    () => sql<{ version: number }>`select version from meshsight_schema_version`.then((r) => r[0]?.version),
    (v) => v === MIGRATIONS.length,
    60_000,
    250
  )
  return app
}

const failures = (reporter: Workload, ids: ReadonlyArray<string>, startMs = Date.now()) =>
  encodeAlsMessageJson(
    alsMessageJson(
      {
        http: ids.map((requestId, i) => {
          const call = { startMs: startMs + i, durationMs: 2, code: 503, requestId, path: `/r/${i}` }
          return reporter === productpage ? outboundHttpEntry(call, peers) : inboundHttpEntry(call, peers)
        })
      },
      { workload: reporter }
    )
  )

const rowCount = async () => (await sql<{ n: number }>`select count(*)::int as n from meshsight_error_logs`)[0].n

describe("error logs in PostgreSQL", () => {
  it("two replicas write; either one's /api/logs returns both replicas' logs; the schema is versioned and indexed", async () => {
    const a = await replica()
    const b = await replica()
    try {
      expect(await sendAlsMessages(a.alsPort, [failures(productpage, ["a-1", "a-2"])])).toEqual({ code: 0, details: "" })
      expect(await sendAlsMessages(b.alsPort, [failures(reviews, ["b-1"])])).toEqual({ code: 0, details: "" })
      for (const r of [a, b]) {
        const body = await waitFor(
          "both replicas' logs",
          () => getJson(r.url, "/api/logs").then((x) => x.body),
          (x) => x?.logs?.length === 3,
          60_000,
          250
        )
        expect(body.logs.map((l: any) => [l.requestId, l.service]).sort()).toEqual([
          ["a-1", "productpage.default"],
          ["a-2", "productpage.default"],
          ["b-1", "reviews.default"]
        ])
        const peer = (await getJson(r.url, "/api/logs?peer=productpage.default")).body.logs.map((l: any) => l.requestId)
        expect(peer).toEqual(["b-1"])
      }
      // b's call started last: newest first is b-1, a-2, a-1, also across pages.
      const paged = (await getJson(a.url, "/api/logs?limit=2")).body
      const rest = (await getJson(a.url, `/api/logs?limit=2&cursor=${paged.cursor}`)).body
      expect([...paged.logs, ...rest.logs].map((l: any) => l.requestId)).toEqual(["b-1", "a-2", "a-1"])
      expect(rest.cursor).toBeNull()
      expect((await sql<{ version: number }>`select version from meshsight_schema_version`).map((r) => r.version)).toEqual([
        MIGRATIONS.length
      ])
      const indexes = (await sql<{ indexdef: string }>`select indexdef from pg_indexes where tablename = 'meshsight_error_logs'`).map(
        (r) => r.indexdef
      )
      for (const column of ["service", "peer", "endpoint", "response_code", "time_ms"]) {
        expect(
          indexes.some((d: string) => d.includes(`(${column}`) || d.includes(`, ${column}`)),
          column
        ).toBe(true)
      }
    } finally {
      await a.stop()
      await b.stop()
    }
  }, 120_000)

  it("PostgreSQL stopped: ingest goes on, reads answer 503, a full queue's excess is counted; restarted: the queue is written", async () => {
    const a = await replica()
    let stopped = false
    try {
      const before = await rowCount()
      const counted = (text: string) => [
        metricValue(text, "meshsight_error_logs_total"),
        metricValue(text, 'meshsight_error_logs_dropped_total{reason="queue_full"}')
      ]
      const [keptBefore, fullBefore] = counted(await fetch(`${a.url}/metrics`).then((r) => r.text()))
      const over = 300
      const total = QUEUE_MAX + over
      // In messages of 500 entries, as a busy proxy would send them.
      const sizes = [...Array.from({ length: Math.floor(total / 500) }, () => 500), total % 500]
      const messages = sizes.map((n, m) =>
        failures(
          productpage,
          Array.from({ length: n }, (_, i) => `o-${m}-${i}`),
          Date.now() + m * 500
        )
      )
      pg.stop()
      stopped = true
      const started = Date.now()
      expect(await sendAlsMessages(a.alsPort, messages)).toEqual({ code: 0, details: "" })
      const ingestMs = Date.now() - started
      const down = await getJson(a.url, "/api/logs")
      expect(down.status).toBe(503)
      expect(down.body.error).toMatch(/error-log database/)
      const metrics = await fetch(`${a.url}/metrics`).then((r) => r.text())
      // (The counters are the process's: the in-process replicas of the other tests add to them too.)
      expect(counted(metrics)).toEqual([keptBefore + total, fullBefore + over])
      pg.start()
      stopped = false
      await waitFor("the queue written", rowCount, (n) => n === before + QUEUE_MAX, 90_000, 250)
      console.log(
        `postgres outage: ${total} failures ingested in ${ingestMs} ms with the database down; ${QUEUE_MAX} written after restart, ${over} counted as queue_full`
      )
    } finally {
      if (stopped) pg.start()
      await a.stop()
    }
  }, 180_000)

  it("a replica starts while PostgreSQL is away, and writes its logs once it is back", async () => {
    pg.stop()
    let app: Awaited<ReturnType<typeof startMeshsightAsync>> | undefined
    try {
      app = await startMeshsightAsync({
        config: { MESHSIGHT_HTTP_ANALYZERS: "mx-mesh,persistence", MESHSIGHT_LOGS_POSTGRES_URL: String(pg.url) }
      })
      expect(await sendAlsMessages(app.alsPort, [failures(productpage, ["late-1"])])).toEqual({ code: 0, details: "" })
      expect((await getJson(app.url, "/api/logs")).status).toBe(503)
      expect((await fetch(`${app.url}/readyz`)).status).toBe(200)
    } finally {
      pg.start()
    }
    await waitFor(
      "the late log written",
      () => sql<{ n: number }>`select count(*)::int as n from meshsight_error_logs where log like '%late-1%'`.then((r) => r[0].n),
      (n) => n === 1,
      60_000,
      250
    )
    await app.stop()
  }, 120_000)

  it("rows older than MESHSIGHT_LOGS_RETENTION_HOURS are deleted", async () => {
    const a = await replica()
    const threeHoursAgo = Date.now() - 3 * 3_600_000
    try {
      await sendAlsMessages(a.alsPort, [failures(productpage, ["old-1", "old-2"], threeHoursAgo)])
      await waitFor(
        "the old logs written",
        () => sql<{ n: number }>`select count(*)::int as n from meshsight_error_logs where log like '%old-%'`.then((r) => r[0].n),
        (n) => n === 2,
        60_000,
        250
      )
    } finally {
      await a.stop()
    }
    // A replica keeping one hour deletes them as it starts (then every few minutes).
    const b = await replica(1)
    try {
      await waitFor(
        "the old logs deleted",
        () => sql<{ n: number }>`select count(*)::int as n from meshsight_error_logs where log like '%old-%'`.then((r) => r[0].n),
        (n) => n === 0,
        60_000,
        250
      )
      expect(await rowCount()).toBeGreaterThan(0) // the recent ones stay
    } finally {
      await b.stop()
    }
  }, 120_000)
})
