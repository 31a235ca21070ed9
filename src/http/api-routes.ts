// The JSON query API under /api (shapes in src/query/api-model.ts). Query parameters are decoded with Schema; a
// bad one is answered 400 with the reason, an unknown service 404.
import { Clock, Effect, Schema, SchemaGetter } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { GrpcServer } from "../ingest/grpc-server.ts"
import { decodeCursor } from "../error-logs/error-log.ts"
import { ErrorLogStore } from "../error-logs/error-log-store.ts"
import { MINUTE_MS, minuteOf } from "../domain/minute.ts"
import type { Status, TimeRange } from "../query/api-model.ts"
import { MAX_PAGE_ITEMS, type PageRequest } from "../query/page.ts"
import { retentionMinutes } from "../store/metric-store.ts"
import { settingConfig } from "../util/setting.ts"
import { QueryService, type SeriesSelector } from "../query/query-service.ts"
import { ProxyQuery } from "../query/proxy-query-service.ts"

const DEFAULT_RANGE_MINUTES = 15
const MAX_RANGE_MINUTES = 7 * 24 * 60

/** Decimal digits only: Number() would also take " ", "0x10" and "1e3", which no client means as a time. */
const EpochMs = Schema.String.check(
  Schema.isPattern(/^\d{1,16}$/, { message: "expected milliseconds since the epoch, in decimal digits" })
).pipe(
  Schema.decodeTo(Schema.Finite.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0)), {
    decode: SchemaGetter.transform((s: string) => Number(s)),
    encode: SchemaGetter.transform((n: number) => String(n))
  })
)
const Name = Schema.String.check(Schema.isMinLength(1))
const DetectPoint = Schema.Literals(["client", "server"])

const RangeParams = Schema.Struct({
  start: Schema.optionalKey(EpochMs),
  end: Schema.optionalKey(EpochMs),
  namespace: Schema.optionalKey(Name)
})

/** A page of a list (src/query/page.ts): `limit` from 1 to MAX_PAGE_ITEMS (the default), `cursor` from the last page. */
const PageParams = Schema.Struct({
  limit: Schema.optionalKey(
    Schema.String.check(Schema.isPattern(/^\d{1,7}$/, { message: "expected a whole number of items" })).pipe(
      Schema.decodeTo(Schema.Finite.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: MAX_PAGE_ITEMS })), {
        decode: SchemaGetter.transform((s: string) => Number(s)),
        encode: SchemaGetter.transform((n: number) => String(n))
      })
    )
  ),
  cursor: Schema.optionalKey(Name)
})
const pageOf = (p: typeof PageParams.Type): PageRequest => ({ limit: p.limit ?? MAX_PAGE_ITEMS, cursor: p.cursor })

const SeriesParams = Schema.Union([
  Schema.Struct({ scope: Schema.Literal("service"), service: Name }),
  Schema.Struct({ scope: Schema.Literal("instance"), service: Name, instance: Name }),
  Schema.Struct({ scope: Schema.Literal("endpoint"), service: Name, endpoint: Name }),
  Schema.Struct({ scope: Schema.Literal("serviceRelation"), source: Name, target: Name, detectPoint: DetectPoint }),
  Schema.Struct({
    scope: Schema.Literal("instanceRelation"),
    source: Name,
    sourceInstance: Name,
    target: Name,
    targetInstance: Name,
    detectPoint: DetectPoint
  })
])

/** GET /api/logs's filters (answer: ErrorLogPage in src/error-logs/error-log.ts). */
const LogParams = Schema.Struct({
  service: Schema.optionalKey(Name),
  instance: Schema.optionalKey(Name),
  peer: Schema.optionalKey(Name),
  endpoint: Schema.optionalKey(Name),
  code: Schema.optionalKey(Schema.FiniteFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 0, maximum: 4_294_967_295 }))),
  start: Schema.optionalKey(EpochMs),
  end: Schema.optionalKey(EpochMs),
  limit: Schema.optionalKey(Schema.FiniteFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 500 }))),
  cursor: Schema.optionalKey(Name)
})
const DEFAULT_LOG_LIMIT = 50

class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", { message: Schema.String }) {}
class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { message: Schema.String }) {}

/** [start, end) snapped to whole minutes; by default the last 15 minutes including the current one. */
const rangeFrom = (p: typeof RangeParams.Type) =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    // Compared as given: snapped to minutes, start=61000&end=60500 would become a valid one-minute range.
    if (p.start !== undefined && p.end !== undefined && p.start >= p.end) {
      return yield* new BadRequest({ message: `start (${p.start}) must be before end (${p.end})` })
    }
    const end = p.end !== undefined ? minuteOf(p.end + MINUTE_MS - 1) : minuteOf(now) + MINUTE_MS
    const start = p.start !== undefined ? minuteOf(p.start) : end - DEFAULT_RANGE_MINUTES * MINUTE_MS
    if (start >= end) return yield* new BadRequest({ message: "start must be before end" })
    if (end - start > MAX_RANGE_MINUTES * MINUTE_MS) {
      return yield* new BadRequest({ message: `a range spans at most ${MAX_RANGE_MINUTES} minutes` })
    }
    return { start, end } satisfies TimeRange
  })

const params = <A, I extends Readonly<Record<string, string | ReadonlyArray<string> | undefined>>>(schema: Schema.Codec<A, I>) =>
  HttpRouter.schemaParams(schema).pipe(Effect.mapError((e) => new BadRequest({ message: e.message.split("\n").join("; ") })))

const found = <A>(value: A | undefined, service: string) =>
  value === undefined ? Effect.fail(new NotFound({ message: `unknown service: ${service}` })) : Effect.succeed(value)

const respond = <E extends { readonly _tag: string; readonly message: string }, R>(handler: Effect.Effect<unknown, E, R>) =>
  handler.pipe(
    Effect.map((body) => HttpServerResponse.jsonUnsafe(body)),
    Effect.catch((e: E) =>
      Effect.succeed(
        HttpServerResponse.jsonUnsafe(
          { error: e.message },
          { status: e._tag === "NotFound" ? 404 : e._tag === "LogsUnavailable" || e._tag === "StorageUnavailable" ? 503 : 400 }
        )
      )
    )
  )

const ServiceParam = Schema.Struct({ service: Name })
const InstanceParams = Schema.Struct({ service: Name, instance: Name })
const RelationParams = Schema.Struct({ source: Name, target: Name })

export const ApiRoutes = HttpRouter.use(
  Effect.fn(function* (router) {
    const query = yield* QueryService
    const logs = yield* ErrorLogStore
    const withRange = Effect.flatMap(params(RangeParams), (p) => Effect.map(rangeFrom(p), (range) => ({ range, namespace: p.namespace })))
    const serviceAndRange = Effect.all([params(ServiceParam), withRange])
    const page = Effect.map(params(PageParams), pageOf)
    const servicePage = Effect.all([params(ServiceParam), withRange, page])

    yield* router.add(
      "GET",
      "/api/services",
      respond(Effect.flatMap(Effect.all([withRange, page]), ([r, pg]) => query.services(r.range, r.namespace, pg)))
    )
    yield* router.add("GET", "/api/topology", respond(Effect.flatMap(withRange, (r) => query.topology(r.range, r.namespace))))
    yield* router.add(
      "GET",
      "/api/instance-topology",
      respond(Effect.flatMap(withRange, (r) => query.instanceTopology(r.range, r.namespace)))
    )
    yield* router.add(
      "GET",
      "/api/services/:service/instances",
      respond(
        Effect.flatMap(servicePage, ([p, r, pg]) => Effect.flatMap(query.instances(p.service, r.range, pg), (v) => found(v, p.service)))
      )
    )
    yield* router.add(
      "GET",
      "/api/services/:service/endpoints",
      respond(
        Effect.flatMap(servicePage, ([p, r, pg]) => Effect.flatMap(query.endpoints(p.service, r.range, pg), (v) => found(v, p.service)))
      )
    )
    yield* router.add(
      "GET",
      "/api/services/:service/topology",
      respond(
        Effect.flatMap(serviceAndRange, ([p, r]) => Effect.flatMap(query.serviceTopology(p.service, r.range), (v) => found(v, p.service)))
      )
    )
    const grpc = yield* GrpcServer
    const status: Status = { grpcPort: grpc.port, alsPort: grpc.alsPort, retentionMinutes: yield* settingConfig(retentionMinutes) }
    yield* router.add("GET", "/api/status", respond(Effect.succeed(status)))
    yield* router.add(
      "GET",
      "/api/series",
      respond(
        Effect.gen(function* () {
          const selector: SeriesSelector = yield* params(SeriesParams)
          const { range } = yield* withRange
          return yield* query.series(selector, range)
        })
      )
    )

    // Envoy MetricsService data (src/query/proxy-model.ts).
    const proxies = yield* ProxyQuery
    yield* router.add(
      "GET",
      "/api/services/:service/proxies",
      respond(Effect.flatMap(serviceAndRange, ([p, r]) => proxies.health(p.service, r.range)))
    )
    yield* router.add(
      "GET",
      "/api/services/:service/instances/:instance/proxy",
      respond(
        Effect.gen(function* () {
          const p = yield* params(InstanceParams)
          const { range } = yield* withRange
          const found = yield* proxies.instance(p.service, p.instance, range)
          if (found === undefined)
            return yield* new NotFound({ message: `no proxy metrics from instance ${p.instance} of service ${p.service}` })
          return found
        })
      )
    )
    yield* router.add(
      "GET",
      "/api/proxy-relations",
      respond(
        Effect.gen(function* () {
          const p = yield* params(RelationParams)
          const { range } = yield* withRange
          const found = yield* proxies.relation(p.source, p.target, range)
          if (found === undefined) return yield* new NotFound({ message: `no proxy metrics from ${p.source} to cluster ${p.target}` })
          return found
        })
      )
    )
    yield* router.add(
      "GET",
      "/api/logs",
      respond(
        Effect.gen(function* () {
          const { cursor, limit, ...filters } = yield* params(LogParams)
          const after = cursor === undefined ? undefined : decodeCursor(cursor)
          if (cursor !== undefined && after === undefined) return yield* new BadRequest({ message: "cursor: not one this API gave" })
          const now = yield* Clock.currentTimeMillis
          return yield* logs.query({ ...filters, limit: limit ?? DEFAULT_LOG_LIMIT, after }, now)
        })
      )
    )
  })
)
