// Health from success rate and average latency against thresholds the user can change (kept in localStorage).
import type { MetricSummary } from "./api.ts"

export interface Thresholds {
  /** Success rate (%) below which a service or call is degraded / failing. */
  readonly slaWarn: number
  readonly slaCrit: number
  /** Average latency (ms) above which it is degraded / failing. */
  readonly latencyWarnMs: number
  readonly latencyCritMs: number
}

export type Health = "healthy" | "warning" | "critical" | "unknown"

export const DEFAULT_THRESHOLDS: Thresholds = { slaWarn: 99, slaCrit: 95, latencyWarnMs: 500, latencyCritMs: 2000 }

const STORAGE_KEY = "meshsight.thresholds"

export const loadThresholds = (): Thresholds => {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "{}") as Partial<Record<keyof Thresholds, unknown>>
    const pick = (k: keyof Thresholds) => (typeof saved[k] === "number" && Number.isFinite(saved[k]) ? saved[k] : DEFAULT_THRESHOLDS[k])
    return {
      slaWarn: pick("slaWarn"),
      slaCrit: pick("slaCrit"),
      latencyWarnMs: pick("latencyWarnMs"),
      latencyCritMs: pick("latencyCritMs")
    }
  } catch {
    return DEFAULT_THRESHOLDS // unreadable storage or JSON: the defaults
  }
}

export const saveThresholds = (t: Thresholds) => localStorage.setItem(STORAGE_KEY, JSON.stringify(t))

/** TCP-only metrics (no requests) say nothing about success or latency. */
export const healthOf = (m: MetricSummary | null | undefined, t: Thresholds): Health => {
  if (!m || m.calls === 0) return "unknown"
  if (m.sla < t.slaCrit || m.respTimeMs > t.latencyCritMs) return "critical"
  if (m.sla < t.slaWarn || m.respTimeMs > t.latencyWarnMs) return "warning"
  return "healthy"
}

export const HEALTH_COLORS: Readonly<Record<Health, string>> = {
  healthy: "#2e9d5b",
  warning: "#e3a21a",
  critical: "#d64545",
  unknown: "#8a94a6"
}
