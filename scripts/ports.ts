// Ports for the processes the demo, the benchmark and the tests start: the kernel picks a free one.
import { createServer } from "node:net"

/** A port that was free on `host` a moment ago (another process may still take it before it is used). */
export const freePort = (host = "127.0.0.1"): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, host, () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })
