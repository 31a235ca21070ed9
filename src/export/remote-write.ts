// Remote write of the Istio-standard series: every interval a snapshot of all series (cumulative values, one
// sample each) is encoded, compressed and queued per endpoint; each endpoint's sender fiber posts the queue in
// order. The queue is bounded in samples: when the TSDB is away longer than it holds, the oldest requests are
// dropped and counted; since the values are cumulative, the next successful write makes totals right again.
import { Clock, Effect, Metric } from "effect"
import {
  remoteWriteFailed,
  remoteWriteLastSuccess,
  remoteWriteQueueSamples,
  remoteWriteRetries,
  remoteWriteSamplesDropped,
  remoteWriteSamplesSent
} from "../telemetry.ts"
import { FAMILIES, histogramObserved, LE_TEXTS } from "./exposition.ts"
import type { MeshSeries } from "./mesh-series.ts"
import type { GaugeFamily } from "./proxy-series.ts"
import { encodeLabels, labelPiece, makeRequestBatcher, REMOTE_WRITE_HEADERS } from "./write-request.ts"

export interface WriteBatch {
  readonly body: Uint8Array
  readonly samples: number
}

/** TimeSeries per request (Prometheus' own remote-write queue sends 2000 samples per request by default). */
export const TIMESERIES_PER_REQUEST = 2000

const nameLabel = (name: string): Uint8Array => labelPiece("__name__", name)
const LE_LABELS = LE_TEXTS.map((le) => labelPiece("le", le))
/** Each family's sample names. */
const FAMILY_NAMES = FAMILIES.map((f) => ({
  total: nameLabel(`${f.name}_total`),
  bucket: nameLabel(`${f.name}_bucket`),
  sum: nameLabel(`${f.name}_sum`),
  count: nameLabel(`${f.name}_count`)
}))

/** A series' labels encoded once, split where `le` sorts in. */
interface EncodedLabels {
  readonly beforeLe: Uint8Array
  readonly afterLe: Uint8Array
}
const encodedLabels = new WeakMap<MeshSeries, EncodedLabels>()
const labelsOf = (s: MeshSeries): EncodedLabels => {
  let e = encodedLabels.get(s)
  if (e === undefined) {
    encodedLabels.set(
      s,
      (e = {
        beforeLe: encodeLabels(s.pairs.filter(([k]) => k < "le")),
        afterLe: encodeLabels(s.pairs.filter(([k]) => k > "le"))
      })
    )
  }
  return e
}

/**
 * The series at `nowMs` as WriteRequest bodies. A series sent for the first time also gets a zero sample one
 * interval earlier, so that `increase()` and `rate()` count its first increments (DESIGN.md §9) — but never at or
 * before `lastEvictionMs`: a label set evicted and back again has samples up to then, and the TSDB refuses older
 * ones. The proxies' `gauges` follow, one sample each (a gauge needs no zero before it).
 */
export const snapshotBatches = (
  series: Iterable<MeshSeries>,
  nowMs: number,
  intervalMs: number,
  lastEvictionMs = Number.NEGATIVE_INFINITY,
  gauges: ReadonlyArray<GaugeFamily> = []
): Array<WriteBatch> => {
  const { put, finish } = makeRequestBatcher(TIMESERIES_PER_REQUEST)
  const zeroAt = Math.max(nowMs - intervalMs, lastEvictionMs + 1)
  for (const s of series) {
    const { beforeLe, afterLe } = labelsOf(s)
    const fresh = !s.announced && zeroAt < nowMs
    s.announced = true
    const zero = fresh ? zeroAt : undefined
    const v = s.values
    for (let i = 0; i < FAMILIES.length; i++) {
      const f = FAMILIES[i]
      if (f.kind !== s.kind) continue
      const names = FAMILY_NAMES[i]
      if (f.type === "counter") {
        put([names.total, beforeLe, afterLe], v[f.at], nowMs, zero)
        continue
      }
      if (!histogramObserved(s, f.at)) continue
      let cumulative = 0
      for (let b = 0; b < LE_LABELS.length; b++) {
        cumulative += v[f.at + b]
        put([names.bucket, beforeLe, LE_LABELS[b], afterLe], cumulative, nowMs, zero)
      }
      put([names.sum, beforeLe, afterLe], v[f.at + LE_LABELS.length], nowMs, zero)
      put([names.count, beforeLe, afterLe], cumulative, nowMs, zero)
    }
  }
  for (const g of gauges) {
    const name = nameLabel(g.name)
    for (const { pairs, value } of g.samples) put([name, ...pairs.map(([k, v]) => labelPiece(k, v))], value, nowMs)
  }
  return finish()
}

/** Requests waiting for one endpoint, oldest first, bounded by their samples. */
export class WriteQueue {
  private items: Array<WriteBatch> = []
  private head = 0
  samples = 0
  private readonly maxSamples: number

  constructor(maxSamples: number) {
    this.maxSamples = maxSamples
  }

  get length() {
    return this.items.length - this.head
  }

  /** Adds a request; drops the oldest while over the bound. Returns the samples dropped. */
  push(batch: WriteBatch): number {
    this.items.push(batch)
    this.samples += batch.samples
    let dropped = 0
    while (this.samples > this.maxSamples && this.length > 0) dropped += this.shift()!.samples
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return dropped
  }

  peek(): WriteBatch | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined
  }

  shift(): WriteBatch | undefined {
    const b = this.peek()
    if (b === undefined) return undefined
    this.items[this.head++] = undefined!
    this.samples -= b.samples
    return b
  }
}

/** Capped exponential backoff with jitter (half to all of the step): 250 ms, 500 ms, 1 s, … up to `capMs`. */
export const retryDelayMs = (attempt: number, capMs: number, random: number): number => {
  const step = Math.min(capMs, 250 * 2 ** Math.min(attempt, 20))
  return Math.round(step * (0.5 + random / 2))
}

export type SendOutcome =
  | { readonly _tag: "Sent" }
  | { readonly _tag: "Retry"; readonly reason: string }
  | { readonly _tag: "Rejected"; readonly status: number; readonly reason: string }

/** Network errors, timeouts, 5xx and 429 are worth retrying; any other 4xx will fail the same way again. */
export const outcomeOfStatus = (status: number, body: string): SendOutcome =>
  status >= 200 && status < 300
    ? { _tag: "Sent" }
    : status === 429 || status >= 500
      ? { _tag: "Retry", reason: `HTTP ${status}: ${body.slice(0, 200)}` }
      : { _tag: "Rejected", status, reason: `HTTP ${status}: ${body.slice(0, 200)}` }

export interface EndpointOptions {
  readonly url: string
  /** Which series this queue carries (the `series` label of its metrics): `istio`, `meshsight_minute` or `meshsight_proxy_minute`. */
  readonly series: "istio" | "meshsight_minute" | "meshsight_proxy_minute"
  readonly headers: Readonly<Record<string, string>>
  readonly timeoutMs: number
  readonly maxBackoffMs: number
}

/** The URL as logs and metric labels show it: no credentials, no query. */
export const endpointName = (url: string): string => {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname}`
  } catch {
    return url
  }
}

const post = (o: EndpointOptions, body: Uint8Array) =>
  Effect.tryPromise({
    try: async (signal) => {
      const res = await fetch(o.url, {
        method: "POST",
        headers: { ...REMOTE_WRITE_HEADERS, ...o.headers },
        body: body as Uint8Array<ArrayBuffer>,
        signal: AbortSignal.any([signal, AbortSignal.timeout(o.timeoutMs)])
      })
      return outcomeOfStatus(res.status, await res.text())
    },
    catch: (e) => e
  }).pipe(
    Effect.catch(
      (e): Effect.Effect<SendOutcome> =>
        Effect.succeed({ _tag: "Retry", reason: e instanceof Error ? `${e.name}: ${e.message}` : String(e) })
    )
  )

/** One endpoint: its queue and the fiber body that sends it, forever. */
export const makeEndpoint = (o: EndpointOptions, maxQueueSamples: number) => {
  const queue = new WriteQueue(maxQueueSamples)
  const attributes = { endpoint: endpointName(o.url), series: o.series }
  const sent = Metric.withAttributes(remoteWriteSamplesSent, attributes)
  const failed = Metric.withAttributes(remoteWriteFailed, attributes)
  const dropped = Metric.withAttributes(remoteWriteSamplesDropped, attributes)
  const retries = Metric.withAttributes(remoteWriteRetries, attributes)
  const queued = Metric.withAttributes(remoteWriteQueueSamples, attributes)
  const lastSuccess = Metric.withAttributes(remoteWriteLastSuccess, attributes)
  const rejectedStatuses = new Set<number>()

  const enqueue = (batches: ReadonlyArray<WriteBatch>) =>
    Effect.gen(function* () {
      let lost = 0
      for (const b of batches) lost += queue.push(b)
      if (lost > 0) {
        yield* Metric.update(dropped, lost)
        yield* Effect.logWarning(
          `remote write to ${attributes.endpoint}: queue full (MESHSIGHT_REMOTE_WRITE_QUEUE_SAMPLES), dropped the oldest ${lost} samples`
        )
      }
      yield* Metric.update(queued, queue.samples)
    })

  const sendLoop = (idlePollMs: number) =>
    Effect.gen(function* () {
      let attempt = 0
      for (;;) {
        const batch = queue.peek()
        if (batch === undefined) {
          yield* Effect.sleep(idlePollMs)
          continue
        }
        const outcome = yield* post(o, batch.body)
        // The batch may have been dropped from a full queue while it was in flight.
        const done = () => {
          if (queue.peek() === batch) queue.shift()
        }
        if (outcome._tag === "Retry") {
          if (attempt === 0) yield* Effect.logWarning(`remote write to ${attributes.endpoint} failed, retrying: ${outcome.reason}`)
          yield* Metric.update(retries, 1)
          yield* Effect.sleep(retryDelayMs(attempt++, o.maxBackoffMs, Math.random()))
          continue
        }
        if (attempt > 0) yield* Effect.logInfo(`remote write to ${attributes.endpoint} recovered after ${attempt} retries`)
        attempt = 0
        done()
        if (outcome._tag === "Sent") {
          yield* Metric.update(sent, batch.samples)
          yield* Metric.update(lastSuccess, (yield* Clock.currentTimeMillis) / 1000)
        } else {
          yield* Metric.update(failed, batch.samples)
          if (!rejectedStatuses.has(outcome.status)) {
            rejectedStatuses.add(outcome.status)
            yield* Effect.logError(
              `remote write to ${attributes.endpoint} refused a request, not retried (further refusals with this status are only counted: meshsight_remote_write_samples_failed_total): ${outcome.reason}`
            )
          }
        }
        yield* Metric.update(queued, queue.samples)
      }
    })

  /** At shutdown: each queued request once, in order, no retries; what is left is counted as dropped. */
  const sendQueuedOnce = Effect.gen(function* () {
    for (let batch = queue.shift(); batch !== undefined; batch = queue.shift()) {
      const outcome = yield* post(o, batch.body)
      if (outcome._tag === "Sent") yield* Metric.update(sent, batch.samples)
      else {
        yield* Metric.update(dropped, batch.samples + queue.samples)
        yield* Effect.logWarning(
          `remote write to ${attributes.endpoint} at shutdown: ${outcome.reason}; ${batch.samples + queue.samples} samples not sent`
        )
        return
      }
    }
  })

  return { queue, enqueue, sendLoop, sendQueuedOnce, name: attributes.endpoint }
}
