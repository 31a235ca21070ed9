// One line of simulator progress, for the CLI and the demo.
import type { SimulatorProgress } from "./simulator.ts"

export const formatProgress = (p: SimulatorProgress): string => {
  const seconds = Math.max(p.elapsedMs, 1) / 1000
  return [
    `${p.requests} requests, ${p.calls} calls, ${p.entries} entries in ${p.messages} messages`,
    `(${Math.round(p.calls / seconds)} calls/s, ${Math.round(p.entries / seconds)} entries/s),`,
    `${p.metricsMessages} MetricsService messages`,
    ...(p.droppedMessages > 0 ? [`${p.droppedMessages} messages dropped on full streams`] : []),
    ...(p.reconnects > 0 ? [`${p.reconnects} reconnects`] : [])
  ].join(" ")
}
