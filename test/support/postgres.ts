// A throw-away PostgreSQL cluster for the tests: `initdb` in a temp directory, a server on a free loopback port,
// removed when stopped. PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user
// (Debian's package creates it). The binaries come from Debian's `postgresql` (scripts/ensure-system-deps.ts).
import { execFileSync } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "../../scripts/ports.ts"

export const POSTGRES_BIN = (() => {
  const root = "/usr/lib/postgresql"
  const version = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a))[0] : undefined
  return version === undefined ? undefined : join(root, version, "bin")
})()

export interface TestPostgres {
  /** `postgres://meshsight@127.0.0.1:PORT/postgres` */
  readonly url: string
  readonly start: () => void
  /** Stops the server (fast shutdown: open connections are cut), keeping its data. */
  readonly stop: () => void
  /** Stops the server and deletes the cluster. */
  readonly remove: () => void
}

const asPostgresUser = (): { uid: number; gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined
  const line = execFileSync("getent", ["passwd", "postgres"], { encoding: "utf8" }).split(":")
  return { uid: Number(line[2]), gid: Number(line[3]) }
}

export const startTestPostgres = async (): Promise<TestPostgres> => {
  if (POSTGRES_BIN === undefined) throw new Error("PostgreSQL is not installed (apt-get install postgresql)")
  const dir = mkdtempSync(join(tmpdir(), "meshsight-pg-"))
  const owner = asPostgresUser()
  if (owner !== undefined) chownSync(dir, owner.uid, owner.gid)
  const data = join(dir, "data")
  const run = (binary: string, args: ReadonlyArray<string>) =>
    execFileSync(join(POSTGRES_BIN, binary), args, { stdio: "pipe", ...(owner ?? {}) })
  run("initdb", ["-D", data, "-U", "meshsight", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"])
  const port = await freePort()
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`
  const start = () => void run("pg_ctl", ["-D", data, "-o", options, "-l", join(dir, "server.log"), "-w", "-t", "60", "start"])
  const stop = () => void run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"])
  start()
  return {
    url: `postgres://meshsight@127.0.0.1:${port}/postgres`,
    start,
    stop,
    remove: () => {
      try {
        stop()
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
