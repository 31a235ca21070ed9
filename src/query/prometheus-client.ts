// A client of Prometheus' HTTP query API (/api/v1/query, /api/v1/query_range), which Prometheus, Thanos, Mimir and
// VictoriaMetrics all serve. Queries are POSTed as forms (a long label matcher would not fit a URL); an answer is
// decoded with one Schema call per response. Every failure — no connection, a timeout, an HTTP error, an answer
// with status "error" — is a StorageUnavailable naming the TSDB and the reason.
import { Effect, Metric, Schema } from "effect"
import { endpointName } from "../export/remote-write.ts"
import { storageQueryFailures } from "../telemetry.ts"
import { StorageUnavailable } from "./query-service.ts"

export type Labels = Readonly<Record<string, string>>
export interface InstantRow {
  readonly metric: Labels
  readonly value: readonly [number, string]
}
export interface RangeRow {
  readonly metric: Labels
  readonly values: ReadonlyArray<readonly [number, string]>
}

const Sample = Schema.Tuple([Schema.Number, Schema.String])
const Answer = Schema.Struct({
  status: Schema.String,
  error: Schema.optionalKey(Schema.String),
  data: Schema.optionalKey(
    Schema.Struct({
      resultType: Schema.String,
      result: Schema.Array(
        Schema.Struct({
          metric: Schema.Record(Schema.String, Schema.String),
          value: Schema.optionalKey(Sample),
          values: Schema.optionalKey(Schema.Array(Sample))
        })
      )
    })
  )
})
const decodeAnswer = Schema.decodeUnknownExit(Answer)

export interface PrometheusClientOptions {
  /** The base URL, e.g. http://prometheus:9090 (…/api/v1/query is appended). */
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly timeoutMs: number
}

export interface PrometheusClient {
  readonly name: string
  /** An instant vector at `timeMs`. */
  readonly instant: (expr: string, timeMs: number) => Effect.Effect<ReadonlyArray<InstantRow>, StorageUnavailable>
  /** A range matrix from `startMs` to `endMs` (both evaluated) every `stepMs`. */
  readonly range: (
    expr: string,
    startMs: number,
    endMs: number,
    stepMs: number
  ) => Effect.Effect<ReadonlyArray<RangeRow>, StorageUnavailable>
}

const seconds = (ms: number) => String(ms / 1000)

/** A PromQL string literal (PromQL unquotes Go-style escapes, which JSON's are a subset of). */
export const promString = (s: string) => JSON.stringify(s)

/** Label matchers for a selector: `name="value"` for each pair, `name=~"re"` for each of `regex`. */
export const labelMatchers = (pairs: ReadonlyArray<readonly [string, string]>, regex: Readonly<Record<string, string>> = {}) =>
  [...pairs.map(([k, v]) => `${k}=${promString(v)}`), ...Object.entries(regex).map(([k, v]) => `${k}=~${promString(v)}`)].join(", ")

export const makePrometheusClient = (o: PrometheusClientOptions): PrometheusClient => {
  const base = o.url.replace(/\/+$/, "")
  const name = endpointName(base)
  const unavailable = (reason: string) =>
    Effect.andThen(
      Metric.update(storageQueryFailures, 1),
      Effect.fail(new StorageUnavailable({ message: `metric storage ${name}: ${reason}` }))
    )

  const call = (path: string, form: Record<string, string>) =>
    Effect.tryPromise({
      try: async (signal) => {
        const res = await fetch(`${base}${path}`, {
          method: "POST",
          headers: { ...o.headers, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams(form),
          signal: AbortSignal.any([signal, AbortSignal.timeout(o.timeoutMs)])
        })
        const text = await res.text()
        return { status: res.status, text }
      },
      catch: (e) =>
        e instanceof Error ? (e.name === "TimeoutError" ? `no answer within ${o.timeoutMs} ms` : `${e.message}${causeOf(e)}`) : String(e)
    }).pipe(
      Effect.catch(unavailable),
      Effect.flatMap(({ status, text }) => {
        let json: unknown
        try {
          json = JSON.parse(text)
        } catch {
          return unavailable(`HTTP ${status}: ${text.slice(0, 200)}`)
        }
        const answer = decodeAnswer(json)
        if (answer._tag === "Failure") return unavailable(`HTTP ${status}: not a Prometheus query answer`)
        const a = answer.value
        if (a.status !== "success" || a.data === undefined) return unavailable(`HTTP ${status}: ${a.error ?? a.status}`)
        return Effect.succeed(a.data.result)
      })
    )

  return {
    name,
    instant: (expr, timeMs) =>
      Effect.map(call("/api/v1/query", { query: expr, time: seconds(timeMs) }), (rows) =>
        rows.flatMap((r) => (r.value === undefined ? [] : [{ metric: r.metric, value: r.value }]))
      ),
    range: (expr, startMs, endMs, stepMs) =>
      Effect.map(
        call("/api/v1/query_range", { query: expr, start: seconds(startMs), end: seconds(endMs), step: seconds(stepMs) }),
        (rows) => rows.flatMap((r) => (r.values === undefined ? [] : [{ metric: r.metric, values: r.values }]))
      )
  }
}

/** fetch's "fetch failed" hides the reason (ECONNREFUSED, …) in its cause. */
const causeOf = (e: Error): string => {
  const c = (e as { cause?: unknown }).cause
  return c instanceof Error ? `: ${c.message}` : ""
}
