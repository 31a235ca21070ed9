// Files meshsight re-reads while it runs: TLS certificates and keys (cert-manager and Kubernetes rotate them in
// place) and token lists. Polled, not watched: a mounted Secret changes by swapping a symlink (`..data`), which
// file-change events on the old path do not report. A change that does not parse (a certificate written before its
// key) is logged and the last good value kept; the next poll picks up the finished rotation.
import { Effect, Schema } from "effect"
import { readFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { printable } from "../log-text.ts"
import { Int, setting } from "../util/setting.ts"

/** How often certificate and token files are checked for changes. */
export const fileReloadIntervalMs = setting({
  names: ["MESHSIGHT_FILE_RELOAD_INTERVAL_MS"],
  schema: Int(50, 3_600_000),
  expected: "milliseconds from 50 to 3600000",
  default: 10_000
})

/** Start-up stops with this: a configured file that cannot be read or used. */
export class UnusableFile extends Schema.TaggedError<UnusableFile>()("UnusableFile", {
  variable: Schema.String,
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot use ${this.variable}=${this.path}: ${this.detail}`
  }
}

export interface FileSetting {
  /** The setting that names the file, for messages. */
  readonly variable: string
  readonly path: string
}

export interface WatchedFiles<A> {
  /** The value parsed from the files' latest good contents. */
  readonly current: () => A
  /** Called with each new good value (not with the first). */
  readonly onChange: (listener: (value: A) => void) => void
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e))

const sameBytes = (a: ReadonlyArray<Buffer>, b: ReadonlyArray<Buffer>) => a.length === b.length && a.every((x, i) => x.equals(b[i]!))

/**
 * Reads `files` now (failing start-up with UnusableFile when a file cannot be read or `parse` throws), then every
 * `intervalMs` for as long as the scope is open. `parse` gets the files' contents in order and throws on bad ones.
 */
export const watchFiles = <A>(files: ReadonlyArray<FileSetting>, intervalMs: number, parse: (contents: ReadonlyArray<Buffer>) => A) =>
  Effect.gen(function* () {
    const names = files.map((f) => `${f.variable}=${f.path}`).join(", ")
    const initial = yield* Effect.forEach(files, (f) =>
      Effect.try({
        try: () => readFileSync(f.path),
        catch: (e) => new UnusableFile({ variable: f.variable, path: f.path, detail: errorText(e) })
      })
    )
    let value = yield* Effect.try({
      try: () => parse(initial),
      catch: (e) => new UnusableFile({ variable: files[0]!.variable, path: files[0]!.path, detail: errorText(e) })
    })
    let seen = initial
    const listeners: Array<(value: A) => void> = []

    /** One check: undefined when nothing changed, else what happened (the new value is in place when ok). */
    const check = async (): Promise<{ readonly ok: boolean; readonly detail: string } | undefined> => {
      try {
        const contents = await Promise.all(files.map((f) => readFile(f.path)))
        if (sameBytes(contents, seen)) return undefined
        seen = contents
        value = parse(contents)
        for (const listener of listeners) listener(value)
        return { ok: true, detail: "" }
      } catch (e) {
        return { ok: false, detail: errorText(e) }
      }
    }
    const poll = Effect.flatMap(Effect.promise(check), (result) =>
      result === undefined
        ? Effect.void
        : result.ok
          ? Effect.logInfo(`reloaded ${printable(names)}`)
          : Effect.logWarning(`keeping the previous contents of ${printable(names)}: ${printable(result.detail)}`)
    )
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(intervalMs), poll)))
    return {
      current: () => value,
      onChange: (listener) => void listeners.push(listener)
    } satisfies WatchedFiles<A>
  })
