// meshsight's own counters and gauges across processes (MESHSIGHT_WORKERS > 1): each worker sends, with every
// flush, how much each of its counters grew since the previous flush and its gauges' values; the primary adds the
// counter deltas to its own counters (so /metrics totals are the sum over all workers, kept across a worker's
// restart) and sets each gauge to the sum of the workers' last values (a timestamp: their latest), except the
// gauges only the primary keeps.
import { type Context, Metric } from "effect"
import * as telemetry from "../telemetry.ts"

type Attributes = Metric.Metric.AttributeSet | undefined

export interface TelemetryDelta {
  readonly counters: ReadonlyArray<readonly [id: string, attributes: Attributes, delta: number]>
  readonly gauges: ReadonlyArray<readonly [id: string, attributes: Attributes, value: number]>
}

const keyOf = (id: string, attributes: Attributes) => (attributes === undefined ? id : `${id}${JSON.stringify(attributes)}`)

/** In a worker: the counters' growth since the last call, and the gauges now. */
export const makeTelemetryDeltas = () => {
  const sent = new Map<string, number>()
  return (snapshots: ReadonlyArray<Metric.Metric.Snapshot>): TelemetryDelta => {
    const counters: Array<readonly [string, Attributes, number]> = []
    const gauges: Array<readonly [string, Attributes, number]> = []
    for (const s of snapshots) {
      if (s.type === "Counter") {
        const key = keyOf(s.id, s.attributes)
        const count = Number(s.state.count)
        const delta = count - (sent.get(key) ?? 0)
        if (delta !== 0) counters.push([s.id, s.attributes, delta])
        sent.set(key, count)
      } else if (s.type === "Gauge") gauges.push([s.id, s.attributes, Number(s.state.value)])
    }
    return { counters, gauges }
  }
}

/** Gauges the primary sets itself from what it holds (the store, the proxies' store, its memory budget's series). */
const PRIMARY_GAUGES = new Set([
  telemetry.seriesStored.id,
  telemetry.proxyInstancesStored.id,
  telemetry.memoryBudgetBytes.id,
  keyOf(telemetry.memoryUsedBytes.id, { part: "series" })
])

/** Gauges that are a time, not an amount: the workers' latest, not their sum. */
const LATEST_GAUGES = new Set([telemetry.remoteWriteLastSuccess.id])

const byId = new Map<string, Metric.Metric<number, unknown>>(
  (Object.values(telemetry) as ReadonlyArray<unknown>)
    .filter((m): m is Metric.Metric<number, unknown> => Metric.isMetric(m))
    .map((m) => [m.id, m])
)

/** In the primary: adds workers' counter deltas and keeps the sum of their gauges. */
export const makeTelemetrySum = (context: Context.Context<never>) => {
  const gaugesBySlot = new Map<number, Map<string, readonly [string, Attributes, number]>>()
  const setGauges = () => {
    const sums = new Map<string, readonly [string, Attributes, number]>()
    for (const gauges of gaugesBySlot.values()) {
      for (const [key, [id, attributes, value]] of gauges) {
        const before = sums.get(key)?.[2]
        const combined = before === undefined ? value : LATEST_GAUGES.has(id) ? Math.max(before, value) : before + value
        sums.set(key, [id, attributes, combined])
      }
    }
    for (const [, [id, attributes, value]] of sums) {
      const metric = byId.get(id)
      if (metric !== undefined) (attributes === undefined ? metric : Metric.withAttributes(metric, attributes)).updateUnsafe(value, context)
    }
  }
  return {
    add: (slot: number, delta: TelemetryDelta) => {
      for (const [id, attributes, n] of delta.counters) {
        const metric = byId.get(id)
        if (metric !== undefined) (attributes === undefined ? metric : Metric.withAttributes(metric, attributes)).updateUnsafe(n, context)
      }
      const gauges = new Map<string, readonly [string, Attributes, number]>()
      for (const g of delta.gauges) {
        const key = keyOf(g[0], g[1])
        if (!PRIMARY_GAUGES.has(key) && !PRIMARY_GAUGES.has(g[0])) gauges.set(key, g)
      }
      gaugesBySlot.set(slot, gauges)
      setGauges()
    },
    /** A worker that exited holds no streams any more: its gauges leave the sums. */
    forget: (slot: number) => {
      const gauges = gaugesBySlot.get(slot)
      if (gauges === undefined) return
      for (const [key, [id, attributes]] of gauges) gauges.set(key, [id, attributes, 0])
      setGauges()
      gaugesBySlot.delete(slot)
    },
    /** After the primary set its own gauges (e.g. every part of the memory gauge): the workers' sums again. */
    reapply: setGauges
  }
}
