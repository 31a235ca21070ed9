// The benchmark's load generator, run as its own process: opens N concurrent ALS v3 streams, each starting with
// its proxy's identifier message, then cycling through that proxy's pool; honours HTTP/2 flow control (waits for
// 'drain'); prints {"entries", "seconds"} once every stream has been answered.
// Usage: node bench/client.ts TARGET STREAMS MESSAGES_PER_STREAM WORKLOAD [CONNECTIONS] [--open-first]
// --open-first: every stream sends its first message, then the client prints "open" and waits for a line on
// stdin before the rest; the figures printed are those of the rest (the entries of streams already open).
// STREAMS 0: one stream per proxy of the workload, each sending its pool once (for many distinct series).
// CONNECTIONS (default 1): HTTP/2 connections the streams are spread over, as many proxies each have their own
// (meshsight's workers are dealt connections, not streams).
import { makeAlsClient } from "../src/ingest/service-definitions.ts"
import { decodeWorkload, ENTRIES_PER_MESSAGE, generate } from "./workload.ts"

const openFirst = process.argv.includes("--open-first")
const [target, streamsArg, perStreamArg, workloadArg, connectionsArg] = process.argv.slice(2).filter((a) => a !== "--open-first")
const streams = Number(streamsArg)
const perStream = Number(perStreamArg)
if (openFirst && perStream < 2) {
  console.error("--open-first needs at least 2 messages per stream: the first, and the ones measured")
  process.exit(2)
}
const workload = decodeWorkload(workloadArg)
const pools = generate(workload).map((s) => s.messages.map((m) => Buffer.from(m.buffer, m.byteOffset, m.byteLength)))

// A local subchannel pool per client: grpc-js would otherwise share one connection among them.
const clients = Array.from({ length: Number(connectionsArg ?? "1") }, () =>
  makeAlsClient(target, "v3", { "grpc.max_send_message_length": 64 * 1024 * 1024, "grpc.use_local_subchannel_pool": 1 })
)

// --open-first: `allOpen` is called once every stream has sent its first message; they all go on at `go`.
let opened = 0
let allOpen: () => void = () => {}
const open = new Promise<void>((resolve) => (allOpen = resolve))
const go = new Promise<void>((resolve) => (openFirst ? process.stdin.once("data", () => resolve()) : resolve()))

const runStream = (client: (typeof clients)[number], pool: ReadonlyArray<Buffer>, perStream: number, streamCount: number) =>
  new Promise<void>((resolve, reject) => {
    const call = client.StreamAccessLogs((err) => (err ? reject(new Error(`stream ended with ${err.code}: ${err.details}`)) : resolve()))
    let sent = 0
    let held = openFirst
    const pump = () => {
      while (sent < perStream) {
        if (sent === 1 && held) {
          held = false
          if (++opened === streamCount) allOpen()
          return void go.then(pump)
        }
        // The identifier message first, then the rest of the pool round and round.
        const message = sent === 0 ? pool[0] : pool[1 + ((sent - 1) % (pool.length - 1))]
        sent++
        if (!call.write(message)) return void call.once("drain", pump)
      }
      call.end()
    }
    pump()
  })

// Connect before timing, so that the figure is about streaming, not about the TCP and HTTP/2 handshake.
await Promise.all(
  clients.map(
    (client) => new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())))
  )
)
const usable = pools.filter((p) => p.length > 1)
if (workload.proxy !== undefined && usable[workload.proxy] === undefined) {
  console.error(`the workload has ${usable.length} proxies with messages to send: no proxy ${workload.proxy}`)
  process.exit(2)
}
const plan =
  streams === 0
    ? usable.map((pool) => ({ pool, messages: pool.length }))
    : Array.from({ length: streams }, (_, i) => ({ pool: usable[workload.proxy ?? i % usable.length], messages: perStream }))
let started = process.hrtime.bigint()
const done = Promise.all(plan.map((s, i) => runStream(clients[i % clients.length], s.pool, s.messages, plan.length)))
if (openFirst) {
  await open
  console.log("open")
  await go
  started = process.hrtime.bigint()
}
await done
const seconds = Number(process.hrtime.bigint() - started) / 1e9
for (const client of clients) client.close()
const messages = plan.reduce((n, s) => n + s.messages - (openFirst ? 1 : 0), 0)
console.log(JSON.stringify({ entries: messages * ENTRIES_PER_MESSAGE, seconds }))
