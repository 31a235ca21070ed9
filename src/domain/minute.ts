// Metrics are kept per whole minute (SkyWalking's minute downsampling): a minute is named by its first millisecond.
export const MINUTE_MS = 60_000
export const minuteOf = (epochMs: number): number => Math.floor(epochMs / MINUTE_MS) * MINUTE_MS
