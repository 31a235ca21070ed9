// Log forging: text a proxy controls (its node id, here) reaches the log with its control characters escaped, so
// it cannot start a line of its own or drive the terminal.
import * as grpc from "@grpc/grpc-js"
import { describe, expect, it } from "@effect/vitest"
import { setTimeout as sleep } from "node:timers/promises"
import { printable } from "../../src/log-text.ts"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"
import { sendAlsMessages } from "../support/als-client.ts"
import { spawnMeshsight } from "../../testkit/meshsight-process.ts"

const FORGED = "[00:00:00.000] ERROR (#1): forged line"

describe("log text", () => {
  it("printable escapes C0/C1 controls, DEL, line separators and bidi overrides, and leaves other text alone", () => {
    expect(printable("a\nb\r\tc")).toBe("a\\nb\\r\\tc")
    expect(printable("\u001b[31mred\u007f\u0085")).toBe("\\u001b[31mred\\u007f\\u0085")
    expect(printable("x\u2028y\u202ez")).toBe("x\\u2028y\\u202ez")
    expect(printable("reviews-v1.default ünïcode ✓ \\n")).toBe("reviews-v1.default ünïcode ✓ \\n")
  })

  it("a node id with a newline and an escape sequence stays on its log line, escaped (pretty log)", async () => {
    const running = await spawnMeshsight({ MESHSIGHT_LOG_LEVEL: "Debug", MESHSIGHT_LOG_FORMAT: "pretty" })
    try {
      const message = encodeAlsMessageJson({
        identifier: { node: { id: `evil\n${FORGED}\u001b[2J` }, logName: "als" },
        httpLogs: { logEntry: [] }
      })
      expect((await sendAlsMessages(running.grpcPort, [message])).code).toBe(grpc.status.OK)
      for (let i = 0; !running.output().includes("evil\\n"); i++) {
        if (i > 100) throw new Error(`the stream's log line never came:\n${running.output()}`)
        await sleep(50)
      }
      const lines = running.output().split("\n")
      expect(
        lines.some((l) => l.startsWith(FORGED)),
        running.output()
      ).toBe(false)
      expect(running.output().includes("\u001b[2J")).toBe(false)
      expect(
        lines.some((l) => l.includes(`ALS stream from evil\\n${FORGED}\\u001b[2J`)),
        running.output()
      ).toBe(true)
    } finally {
      await running.stop()
    }
  })
})
