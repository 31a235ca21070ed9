// The benchmark's MetricsService load generator, run as its own process: STREAMS simulated sidecars of a mesh with
// 50 extra services (productpage's proxies report ~50 upstream clusters, ~540 metric families a message; the
// others a few clusters), each on its own StreamMetrics v3 call sending MESSAGES stats flushes (the identifier on
// the first); honours HTTP/2 flow control; prints {"families", "messages", "seconds"}.
// Usage: node bench/metrics-client.ts TARGET STREAMS MESSAGES_PER_STREAM
import { makeMetricsClient } from "../src/ingest/service-definitions.ts"
import { encodeMetricsMessage, makeProxyStats } from "../sim/proxy-stats.ts"
import { seededRandom } from "../sim/random.ts"
import { bookinfo } from "../sim/topology.ts"

const [target, streamsArg, perStreamArg] = process.argv.slice(2)
const streams = Number(streamsArg)
const perStream = Number(perStreamArg)
const POOL = 10

const topology = bookinfo({ instances: 2, extraServices: 50 })
const stats = makeProxyStats(topology, seededRandom(5))
const pods = topology.pods.filter((p) => p.role === "sidecar")
/** Per stream: its proxy's identifier message, then a pool of later flushes, 5 s apart. */
const pools = Array.from({ length: streams }, (_, i) => {
  const pod = pods[i % pods.length]
  const t0 = Date.now()
  let families = 0
  const messages = Array.from({ length: POOL + 1 }, (_, k) => {
    const flush = stats.flush(pod, t0 + k * 5000)
    families += k === 0 ? 0 : flush.length
    const m = encodeMetricsMessage(flush, k === 0 ? { workload: pod } : undefined)
    return Buffer.from(m.buffer, m.byteOffset, m.byteLength)
  })
  return { messages, firstFamilies: stats.flush(pod, t0).length, familiesPerLater: families / POOL }
})

const client = makeMetricsClient(target, "v3", { "grpc.max_send_message_length": 64 * 1024 * 1024 })
await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())))

const runStream = (pool: ReadonlyArray<Buffer>) =>
  new Promise<void>((resolve, reject) => {
    const call = client.StreamMetrics((err) => (err ? reject(new Error(`stream ended with ${err.code}: ${err.details}`)) : resolve()))
    let sent = 0
    const pump = () => {
      while (sent < perStream) {
        const message = sent === 0 ? pool[0] : pool[1 + ((sent - 1) % POOL)]
        sent++
        if (!call.write(message)) return void call.once("drain", pump)
      }
      call.end()
    }
    pump()
  })

const started = process.hrtime.bigint()
await Promise.all(pools.map((p) => runStream(p.messages)))
const seconds = Number(process.hrtime.bigint() - started) / 1e9
client.close()
const families = pools.reduce((n, p) => n + p.firstFamilies + (perStream - 1) * p.familiesPerLater, 0)
console.log(JSON.stringify({ families: Math.round(families), messages: streams * perStream, seconds }))
