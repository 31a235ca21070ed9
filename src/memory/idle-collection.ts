// One full garbage collection when the process goes quiet after work (MESHSIGHT_IDLE_GC_AFTER_MS), so that the
// garbage of a burst — message buffers, V8's grown heap — is given back instead of held until the next burst.
//
// Why meshsight does this itself: V8's memory reducer, which should collect a heap once its owner stops
// allocating, never starts under Node 24 (`--trace-memory-reducer` prints "high alloc" every 8 s in a process that
// does nothing), and V8 collects only when allocation reaches its limits. Measured (docs/performance.md, round
// five): with the bench's 124 k series, RSS 30 s after the load 232–234 MiB without this, 166–168 with it.
import { Session } from "node:inspector"
import { performance } from "node:perf_hooks"
import { Clock, Duration, Effect, Layer, Metric } from "effect"
import { idleCollections } from "../telemetry.ts"
import { Int, setting, settingConfig } from "../util/setting.ts"

export const idleGcAfterMs = setting({
  names: ["MESHSIGHT_IDLE_GC_AFTER_MS"],
  schema: Int(0, 86_400_000),
  expected: "milliseconds from 0 (never) to 86400000",
  default: 10_000
})

/**
 * Event-loop utilisation under which a check counts as quiet. Idle, meshsight's timers and flush beat keep it at
 * 2–4 % in one-second checks on the 2-core VM of docs/performance.md (not the 1 % once measured: 5 % left too little
 * room), and a burst of ALS traffic takes it to 11–27 %.
 */
export const QUIET_UTILIZATION = 0.1

/**
 * Checks in one wait (see checkInterval). A quiet spell ends when the mean utilisation of its last this many checks
 * reaches the threshold — a spell starts with as many of its first check — so traffic ends it at once (a busy check
 * at 40 % lifts the mean of four to over 10 %), a lone short spike does not. On a slow host, for seconds after a
 * burst, the one-second flush took 10–20 ms, up to 8 % of a 250 ms check; judged check by check against 5 %, that
 * restarted the wait (no collection) or counted as new work (a second collection).
 */
const SPELL_CHECKS = 4

/** What the checks remember: whether there was work since the last collection, and since when it is quiet. */
export interface IdleState {
  worked: boolean
  quietSinceMs: number | undefined
  /** The current quiet spell's last SPELL_CHECKS utilisations; empty outside a spell. */
  readonly recent: Array<number>
}

export const initialIdleState = (): IdleState => ({ worked: false, quietSinceMs: undefined, recent: [] })

const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length

/**
 * One check, given the event loop's utilisation since the previous one: whether to collect now. Once per quiet
 * spell that follows work — never again while the process stays idle, never while it works. A spell starts with a
 * check under the threshold and lasts while the mean of its last SPELL_CHECKS checks stays under it.
 */
export const idleCheck = (state: IdleState, utilization: number, nowMs: number, afterMs: number): boolean => {
  const recent = state.recent
  // Outside a spell this check stands for all SPELL_CHECKS: their mean is the check itself.
  if (recent.length === 0) for (let i = 0; i < SPELL_CHECKS; i++) recent.push(utilization)
  else {
    recent.push(utilization)
    recent.shift()
  }
  if (mean(recent) >= QUIET_UTILIZATION) {
    state.worked = true
    state.quietSinceMs = undefined
    recent.length = 0
    return false
  }
  state.quietSinceMs ??= nowMs
  if (!state.worked || nowMs - state.quietSinceMs < afterMs) return false
  state.worked = false
  return true
}

export interface IdleProbes {
  /** The event loop's utilisation (0–1) since the previous call. */
  readonly utilization: () => number
  /** A full garbage collection. */
  readonly collect: () => Effect.Effect<void, Error>
}

/** Node's event-loop utilisation, each call over the time since the previous one. */
const eventLoopUtilization = (): (() => number) => {
  let last = performance.eventLoopUtilization()
  return () => {
    const now = performance.eventLoopUtilization()
    const delta = performance.eventLoopUtilization(now, last)
    last = now
    return delta.utilization
  }
}

/**
 * The collection DevTools' "collect garbage" asks for, through the inspector's in-process session: unlike
 * `gc()` it needs no `--expose-gc`, and V8 also gives its pooled free pages back at once. The session is
 * disconnected on a later turn of the event loop: disconnecting inside the answer's callback hangs the process.
 */
const inspectorCollection = (): Effect.Effect<void, Error> =>
  Effect.callback<void, Error>((resume) => {
    const session = new Session()
    try {
      session.connect() // throws where node was built without the inspector
    } catch (e) {
      return resume(Effect.fail(e instanceof Error ? e : new Error(String(e))))
    }
    session.post("HeapProfiler.collectGarbage", (err) =>
      setImmediate(() => {
        session.disconnect()
        resume(err === null ? Effect.void : Effect.fail(err))
      })
    )
  })

/** Checks four times per `afterMs` (at most every 5 s): quiet is judged to within a quarter of it. */
const checkInterval = (afterMs: number) => Duration.millis(Math.min(5_000, Math.max(50, afterMs / 4)))

/** Runs the checks until the scope closes; `afterMs` 0 runs nothing. */
export const runIdleCollection = (afterMs: number, probes: IdleProbes) =>
  Effect.gen(function* () {
    if (afterMs === 0) return
    const state = initialIdleState()
    const interval = checkInterval(afterMs)
    probes.utilization() // starts the first interval now
    const check = Effect.gen(function* () {
      yield* Effect.sleep(interval)
      const nowMs = yield* Clock.currentTimeMillis
      if (!idleCheck(state, probes.utilization(), nowMs, afterMs)) return
      yield* probes.collect()
      yield* Metric.update(idleCollections, 1)
      // The collection kept the event loop busy itself (tens of ms): not work to collect after again.
      probes.utilization()
    })
    // A collection that fails (a node built without the inspector) ends the checks, with one warning.
    const checks = Effect.forever(check).pipe(
      Effect.catch((e) => Effect.logWarning(`idle garbage collection failed (${e.message}); not trying again (MESHSIGHT_IDLE_GC_AFTER_MS)`))
    )
    yield* Effect.forkScoped(checks)
  })

export const IdleCollectionLive = Layer.effectDiscard(
  Effect.gen(function* () {
    const afterMs = yield* settingConfig(idleGcAfterMs)
    yield* runIdleCollection(afterMs, { utilization: eventLoopUtilization(), collect: inspectorCollection })
  })
)
