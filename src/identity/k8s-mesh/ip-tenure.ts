// Which holder had an IP at a moment. Pods come and go and IPs are reused: each holder keeps its IPs from
// `sinceMs` until `endedMs`, and an ended holder still answers for earlier moments for a while.
import { listOf, type OneOrMore } from "./projection.ts"

/**
 * How long a pod that gave up its IPs still answers for entries that started while it held them. Envoy flushes
 * its buffer every second, so entries arrive seconds after they end; an older entry of an IP that changed hands
 * resolves to unknown rather than to the wrong pod.
 */
export const ENDED_POD_RETENTION_MS = 5 * 60_000
/** Entry start times come from the proxy's node clock, pod start times from the kubelet's: allow some skew. */
export const CLOCK_SKEW_MS = 2_000

export interface Tenure {
  readonly sinceMs: number
  /** Undefined while the holder keeps its IPs. */
  endedMs: number | undefined
  ips: OneOrMore
}

const heldAt = (h: Tenure, atMs: number, skewMs: number): boolean =>
  h.sinceMs - skewMs <= atMs && (h.endedMs === undefined || atMs < h.endedMs)

export class IpTenures<T extends Tenure> {
  /** IP → the holders that had it recently (usually one); ended ones stay for ENDED_POD_RETENTION_MS. */
  private readonly holders = new Map<string, T | Array<T>>()
  /** Ended holders in the order they ended, to drop them once retention is over. */
  private readonly ended: Array<T> = []

  /** IPs held now or within retention. */
  get size(): number {
    return this.holders.size
  }

  /** The holder of `ip` at `atMs`; skew is allowed only when no tenure covers the moment exactly. */
  holderAt(ip: string, atMs: number): T | undefined {
    const holders = this.holders.get(ip)
    if (holders === undefined) return undefined
    if (!Array.isArray(holders)) return heldAt(holders, atMs, CLOCK_SKEW_MS) ? holders : undefined
    return newestAt(holders, atMs, 0) ?? newestAt(holders, atMs, CLOCK_SKEW_MS)
  }

  /** A new holder takes its IPs. */
  add(holder: T): void {
    for (const ip of listOf(holder.ips)) this.hold(ip, holder)
  }

  /** A holder's IPs changed (a pending pod got its IPs). */
  move(holder: T, ips: OneOrMore): void {
    const before = listOf(holder.ips)
    const after = listOf(ips)
    for (const ip of before) if (!after.includes(ip)) this.unhold(ip, holder)
    for (const ip of after) if (!before.includes(ip)) this.hold(ip, holder)
    holder.ips = ips
  }

  /** The holder gave up its IPs at `nowMs`: it answers for earlier moments until retention is over. */
  end(holder: T, nowMs: number): void {
    holder.endedMs = nowMs
    this.ended.push(holder)
  }

  /** Forgets holders that ended more than ENDED_POD_RETENTION_MS before `nowMs`. */
  dropExpired(nowMs: number): void {
    const horizon = nowMs - ENDED_POD_RETENTION_MS
    let expired = 0
    while (expired < this.ended.length && this.ended[expired].endedMs! <= horizon) expired++
    if (expired === 0) return
    for (const holder of this.ended.splice(0, expired)) for (const ip of listOf(holder.ips)) this.unhold(ip, holder)
  }

  private hold(ip: string, holder: T): void {
    const holders = this.holders.get(ip)
    if (holders === undefined) this.holders.set(ip, holder)
    else if (Array.isArray(holders)) holders.push(holder)
    else this.holders.set(ip, [holders, holder])
  }

  private unhold(ip: string, holder: T): void {
    const holders = this.holders.get(ip)
    if (holders === holder) this.holders.delete(ip)
    else if (Array.isArray(holders)) {
      const rest = holders.filter((h) => h !== holder)
      this.holders.set(ip, rest.length === 1 ? rest[0] : rest)
    }
  }
}

/** The newest holder whose tenure covers the moment: a successor may get the IP before the predecessor's
 * deletion is observed. */
const newestAt = <T extends Tenure>(holders: ReadonlyArray<T>, atMs: number, skewMs: number): T | undefined => {
  let best: T | undefined
  for (const h of holders) {
    if (heldAt(h, atMs, skewMs) && (best === undefined || h.sinceMs > best.sinceMs)) best = h
  }
  return best
}
