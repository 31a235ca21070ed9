// Keeps one kind of object (pods, services, endpoint slices) in sync: list, then watch from the list's
// resourceVersion, forever. The client-node Watch reports the end of a watch and nothing more (it does not
// restart by itself), so restarting is done here: a closed or timed-out watch resumes from the last
// resourceVersion seen; `410 Gone` (the version was compacted away) lists again; errors back off (capped,
// jittered). While that happens the index keeps serving the last good state: a relist replaces it only once
// every page has arrived.
import { type Duration, Effect, Metric, Schedule, Schema } from "effect"
import type { ResourceStore } from "./resource-store.ts"

export type ResourceName = "pods" | "services" | "endpointslices" | "serviceentries"

export interface ListPage {
  readonly items: ReadonlyArray<unknown>
  readonly resourceVersion: string
  readonly continueToken: string | undefined
}

/** How to reach one kind of object: the real client (./kube-client.ts) or a stub. */
export interface ResourceClient {
  readonly listPage: (continueToken: string | undefined) => Promise<ListPage>
  /** Starts a watch; `onDone` is called once when it ends, with the error if it failed. */
  readonly watch: (
    resourceVersion: string,
    onEvent: (type: string, object: any) => void,
    onDone: (error: unknown) => void
  ) => Promise<AbortController>
}

export interface ResourceSync<V> {
  readonly resource: ResourceName
  readonly client: ResourceClient
  readonly project: (object: unknown) => V
  readonly store: ResourceStore<V>
  /** After every complete list (the first one makes the analyzer ready). */
  readonly onListed: (count: number) => Effect.Effect<void>
  /**
   * A kind a cluster may not serve (a CRD, such as Istio's ServiceEntry): a list answered 404 counts as an empty
   * list, is logged once, and is tried again every `recheck` instead of being watched.
   */
  readonly optional?: { readonly recheck: Duration.Input }
}

/** How often a kind the API server does not serve is looked for again (the CRD may be installed later). */
export const MISSING_KIND_RECHECK: Duration.Input = "5 minutes"

export class K8sWatchError extends Schema.TaggedError<K8sWatchError>()("K8sWatchError", {
  resource: Schema.String,
  phase: Schema.Literals(["list", "watch"]),
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.resource} ${this.phase} failed: ${this.reason}`
  }
}

/** How a watch that did deliver events ended; each one restarts the watch straight away. */
type WatchEnd = "closed" | "timeout" | "gone" | "dropped"

export const watchRestarts = Metric.counter("meshsight_k8s_watch_restarts_total", {
  description: "k8s-mesh list/watch restarts, by resource and reason (closed, timeout, gone, dropped, error)",
  incremental: true
})

const countRestart = (resource: ResourceName, reason: WatchEnd | "error") =>
  Metric.update(Metric.withAttributes(watchRestarts, { resource, reason }), 1)

/** Capped exponential backoff with jitter (each delay × 0.8–1.2); it never gives up. */
export const watchRetrySchedule = (base: Duration.Input = "1 second", cap: Duration.Input = "30 seconds") =>
  Schedule.min([Schedule.exponential(base, 2), Schedule.spaced(cap)]).pipe(Schedule.jittered)

/** Client-node's list errors carry `code` (ApiException), watch errors `statusCode`. */
const describe = (error: unknown): string => {
  const e = error as { code?: unknown; statusCode?: unknown; message?: unknown } | null
  const status = typeof e?.code === "number" ? e.code : e?.statusCode
  const message = typeof e?.message === "string" ? e.message.split("\n")[0] : String(error)
  return typeof status === "number" ? `HTTP ${status}: ${message}` : message
}

const statusOf = (error: unknown): unknown => (error as { code?: unknown } | null)?.code

/** Every page of a (paginated) list; the items come back projected. `missing`: an optional kind answered 404. */
const listAll = <V>(sync: ResourceSync<V>) =>
  Effect.tryPromise({
    try: async (): Promise<{ items: Array<V>; resourceVersion: string } | "missing"> => {
      const items: Array<V> = []
      let continueToken: string | undefined
      let resourceVersion = ""
      do {
        let page: ListPage
        try {
          page = await sync.client.listPage(continueToken)
        } catch (error) {
          if (sync.optional !== undefined && statusOf(error) === 404) return "missing"
          throw error
        }
        for (const item of page.items) items.push(sync.project(item))
        resourceVersion = page.resourceVersion
        continueToken = page.continueToken || undefined
      } while (continueToken !== undefined)
      return { items, resourceVersion }
    },
    catch: (error) => new K8sWatchError({ resource: sync.resource, phase: "list", reason: describe(error) })
  })

interface SyncState {
  /** Where the next watch resumes; undefined: list first. */
  resourceVersion: string | undefined
  /** The last list of an optional kind answered 404. */
  missing: boolean
}

/** One watch, applying its events to the store as they arrive, until it ends. */
const watchUntilEnd = <V>(sync: ResourceSync<V>, state: SyncState, resourceVersion: string) =>
  Effect.callback<WatchEnd, K8sWatchError>((resume) => {
    let progressed = false
    let settled = false
    let request: Promise<AbortController> | undefined
    const abort = () =>
      void request?.then(
        (c) => c.abort(),
        () => undefined
      )
    const fail = (reason: string) => Effect.fail(new K8sWatchError({ resource: sync.resource, phase: "watch", reason }))
    const finish = (outcome: Effect.Effect<WatchEnd, K8sWatchError>) => {
      if (settled) return
      settled = true
      abort()
      resume(outcome)
    }
    const onEvent = (type: string, object: any) => {
      if (settled) return
      try {
        if (type === "ADDED" || type === "MODIFIED") sync.store.upsert(sync.project(object))
        else if (type === "DELETED") sync.store.remove(sync.project(object))
        else if (type === "ERROR") {
          // The API server reports an expired resourceVersion as an ERROR event carrying a Status with code 410.
          return finish(object?.code === 410 ? Effect.succeed("gone") : fail(`ERROR event: ${object?.message ?? JSON.stringify(object)}`))
        } else if (type !== "BOOKMARK") return
      } catch (error) {
        state.resourceVersion = undefined // the store may have missed an event: list again
        return finish(fail(`could not apply a ${type} event: ${describe(error)}`))
      }
      progressed = true
      const version = object?.metadata?.resourceVersion
      if (typeof version === "string" && version !== "") state.resourceVersion = version
    }
    const onDone = (error: unknown) => {
      const e = error as { name?: unknown; statusCode?: unknown } | null | undefined
      if (e?.statusCode === 410) finish(Effect.succeed("gone"))
      // Client-node aborts a watch after 30 s without data: a quiet resource, not a failure.
      else if (e?.name === "TimeoutError") finish(Effect.succeed("timeout"))
      else if (progressed) finish(Effect.succeed(error == null ? "closed" : "dropped"))
      // Nothing arrived: back off, so a server that refuses or closes at once is not hammered.
      else finish(fail(error == null ? "closed by the server before any event" : describe(error)))
    }
    request = sync.client.watch(resourceVersion, onEvent, onDone)
    request.catch(onDone)
    return Effect.sync(() => {
      settled = true
      abort()
    })
  })

/**
 * Lists into the store. Its own generator, so the listed views are garbage once the store has taken what it keeps:
 * held in `syncOnce`'s generator they would stay alive for the whole watch (~0.4 KB per pod).
 */
const listInto = <V>(sync: ResourceSync<V>, state: SyncState) =>
  Effect.gen(function* () {
    const listed = yield* listAll(sync)
    if (listed === "missing") {
      sync.store.replaceAll([]) // the CRD was removed, or never there
      if (!state.missing) {
        yield* Effect.logInfo(`k8s-mesh: the API server does not serve ${sync.resource} (no such resource type); going on without them`)
        state.missing = true
        yield* sync.onListed(0)
      }
      return undefined
    }
    if (state.missing) {
      state.missing = false
      yield* Effect.logInfo(`k8s-mesh: ${sync.resource} are served now; watching them`)
    }
    sync.store.replaceAll(listed.items)
    state.resourceVersion = listed.resourceVersion
    yield* sync.onListed(listed.items.length)
    return listed.resourceVersion
  })

/** List if needed, then watch until the watch ends. */
const syncOnce = <V>(sync: ResourceSync<V>, state: SyncState) =>
  Effect.gen(function* () {
    const from = state.resourceVersion ?? (yield* listInto(sync, state))
    if (from === undefined) return yield* Effect.sleep(sync.optional?.recheck ?? MISSING_KIND_RECHECK)
    const end = yield* watchUntilEnd(sync, state, from)
    yield* countRestart(sync.resource, end)
    if (end === "gone") {
      state.resourceVersion = undefined
      yield* Effect.logInfo(`k8s-mesh: ${sync.resource} watch expired (410 Gone), listing again`)
    } else if (end === "dropped") yield* Effect.logWarning(`k8s-mesh: ${sync.resource} watch dropped, resuming`)
    else yield* Effect.logDebug(`k8s-mesh: ${sync.resource} watch ${end}, resuming`)
  })

/**
 * Runs forever (until interrupted): never fails, never dies on the API server's account. A pass that made
 * progress ends normally and the next starts at once; a pass that failed is retried on `schedule`.
 */
export const superviseResource = <V>(sync: ResourceSync<V>, schedule: Schedule.Schedule<unknown, unknown> = watchRetrySchedule()) => {
  const state: SyncState = { resourceVersion: undefined, missing: false }
  return syncOnce(sync, state).pipe(
    Effect.tapError((error) =>
      Effect.andThen(countRestart(sync.resource, "error"), Effect.logWarning(`k8s-mesh: ${error.message}; retrying with backoff`))
    ),
    Effect.retry(schedule),
    Effect.forever
  )
}
