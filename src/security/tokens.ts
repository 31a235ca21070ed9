// Bearer tokens from a file (one a line; blank lines and `#` comments skipped), re-read when the file changes so a
// token can be added or revoked without a restart. A presented token is compared with each known one in constant
// time: both are SHA-256 digests (equal length whatever the token's length), compared with timingSafeEqual, and
// every known token is compared, so the time taken says nothing about which or how much of one matched.
import { Effect } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { type Setting, settingsConfig } from "../util/setting.ts"
import { fileReloadIntervalMs, watchFiles } from "./watched-files.ts"

const digest = (token: string): Buffer => createHash("sha256").update(token, "utf8").digest()

export interface TokenSet {
  /** Whether `presented` is one of the tokens. */
  readonly accepts: (presented: string) => boolean
}

export const parseTokens = (text: string): TokenSet => {
  const digests = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map(digest)
  if (digests.length === 0) throw new Error("the file holds no token (one a line; # starts a comment)")
  return {
    accepts: (presented) => {
      const candidate = digest(presented)
      let match = false
      for (const d of digests) match = timingSafeEqual(candidate, d) || match
      return match
    }
  }
}

/** The token in an `Authorization: Bearer TOKEN` value, or undefined. */
export const bearerToken = (authorization: string | undefined): string | undefined => {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "")
  return m?.[1]
}

/** The token file's tokens, kept current; undefined when the setting is not configured (no token required). */
export const watchTokenFile = (file: Setting<string>) =>
  Effect.gen(function* () {
    const { path, intervalMs } = yield* settingsConfig({ path: file, intervalMs: fileReloadIntervalMs })
    if (path === "") return undefined
    const files = yield* watchFiles([{ variable: file.names[0]!, path }], intervalMs, ([text]) => parseTokens(text!.toString("utf8")))
    return { accepts: (presented: string) => files.current().accepts(presented) } satisfies TokenSet
  })
