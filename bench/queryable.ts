// Ingest-to-queryable delay: send one message for a namespace nobody used yet, then poll the query API until its
// services appear. The clock starts before the message is written.
import { makeAlsClient } from "../src/ingest/service-definitions.ts"
import type { BenchedMeshsight } from "./meshsight.ts"
import { generate } from "./workload.ts"

const POLL_MS = 10

const sendOne = (target: string, message: Uint8Array) =>
  new Promise<void>((resolve, reject) => {
    const client = makeAlsClient(target)
    const call = client.StreamAccessLogs((err) => {
      client.close()
      if (err) reject(err)
      else resolve()
    })
    call.write(Buffer.from(message))
    call.end()
  })

/** Milliseconds from sending to queryable, once per probe. */
export const ingestToQueryable = async (meshsight: BenchedMeshsight, probes: number): Promise<Array<number>> => {
  const delays: Array<number> = []
  for (let i = 0; i < probes; i++) {
    const namespace = `probe-${i}`
    const [first] = generate({ seed: 100 + i, startMs: Date.now(), messages: 1, topology: { namespace, instances: 1 } })
    const started = performance.now()
    await sendOne(meshsight.target, first.messages[0])
    for (;;) {
      const body = (await (await fetch(`${meshsight.url}/api/services?namespace=${namespace}`)).json()) as { services: Array<unknown> }
      if (body.services.length > 0) break
      await new Promise((r) => setTimeout(r, POLL_MS))
    }
    delays.push(performance.now() - started)
    // Probes land at different moments of the flush beat.
    await new Promise((r) => setTimeout(r, 137))
  }
  return delays
}
