// A remote-write receiver for the benchmark: accepts every request with 204 and counts the bytes, so that the cost
// measured is meshsight's alone. Prints its port on the first line.
import { createServer } from "node:http"

let requests = 0
let bytes = 0
const server = createServer((req, res) => {
  req.on("data", (chunk: Buffer) => (bytes += chunk.length))
  req.on("end", () => {
    requests++
    res.writeHead(204).end()
  })
})
server.listen(0, "127.0.0.1", () => console.log((server.address() as { port: number }).port))
process.on("SIGTERM", () => {
  console.error(JSON.stringify({ requests, bytes }))
  process.exit(0)
})
