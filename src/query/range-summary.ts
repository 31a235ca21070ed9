// The API view of a series' counts over a range (src/query/api-model.ts MetricSummary). Per-minute rates divide
// by the minutes of the range that have data, not by the range's length: 20 calls in one minute of a 15-minute
// range read 20 calls/min, the value the per-minute chart shows for that minute. SkyWalking's `*_cpm` divides a
// downsampled bucket by its length; a UI range over mostly empty minutes then reads as a fraction of the traffic.
import type { SeriesStats } from "../domain/series-stats.ts"
import type { MetricSummary } from "./api-model.ts"

const PERCENTILES = [50, 75, 90, 95, 99] as const

/** How many minutes of a range hold calls (HTTP/gRPC requests) and TCP connections of one series. */
export interface Activity {
  callMinutes: number
  tcpMinutes: number
}

/** Counts one more stored minute of a series into `a`. */
export const addMinute = (a: Activity, minute: SeriesStats): void => {
  if (minute.calls > 0) a.callMinutes++
  if (minute.tcp !== undefined) a.tcpMinutes++
}

/** The activity of a single minute (a series point). */
export const oneMinute = (minute: SeriesStats): Activity => {
  const a = { callMinutes: 0, tcpMinutes: 0 }
  addMinute(a, minute)
  return a
}

const round2 = (x: number) => Math.round(x * 100) / 100
const perMinute = (total: number, minutes: number) => (minutes === 0 ? 0 : round2(total / minutes))

export const rangeSummary = (stats: SeriesStats, activity: Activity): MetricSummary => {
  const [p50, p75, p90, p95, p99] = stats.latency.percentiles(PERCENTILES)
  const calls = stats.calls
  const tcp = stats.tcp
  return {
    calls,
    callMinutes: activity.callMinutes,
    cpm: perMinute(calls, activity.callMinutes),
    respTimeMs: calls === 0 ? 0 : round2(stats.latencySumMs / calls),
    sla: calls === 0 ? 100 : round2((stats.successes / calls) * 100),
    percentiles: { p50, p75, p90, p95, p99 },
    apdex: stats.apdex !== undefined && calls > 0 ? Math.round(((stats.apdex[0] + stats.apdex[1] / 2) / calls) * 10000) / 10000 : null,
    statusCodes: stats.statusCodeCounts(),
    responseFlags: Object.fromEntries(stats.responseFlags ?? []),
    receivedBytes: tcp?.receivedBytes ?? 0,
    sentBytes: tcp?.sentBytes ?? 0,
    connections: tcp?.connections ?? 0,
    tcpMinutes: activity.tcpMinutes,
    receivedBytesPerMin: perMinute(tcp?.receivedBytes ?? 0, activity.tcpMinutes),
    sentBytesPerMin: perMinute(tcp?.sentBytes ?? 0, activity.tcpMinutes),
    connectionsPerMin: perMinute(tcp?.connections ?? 0, activity.tcpMinutes),
    sidecarInternalReqLatencyNanos: stats.sidecarReqCount === 0 ? null : Math.round(stats.sidecarReqNsSum / stats.sidecarReqCount),
    sidecarInternalRespLatencyNanos: stats.sidecarRespCount === 0 ? null : Math.round(stats.sidecarRespNsSum / stats.sidecarRespCount),
    protocols: Object.fromEntries(
      (
        [
          ["HTTP", stats.httpCalls],
          ["gRPC", stats.grpcCalls],
          ["TCP", tcp?.connections ?? 0]
        ] as const
      ).filter(([, n]) => n > 0)
    )
  }
}
