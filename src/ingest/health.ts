// The standard gRPC health protocol (proto/grpc/health/v1/health.proto), so load balancers and Kubernetes gRPC
// probes can check meshsight's gRPC port.
import * as grpc from "@grpc/grpc-js"
import { WireReader } from "../util/wire-reader.ts"

/** HealthCheckResponse.ServingStatus */
export const ServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const

/** HealthCheckRequest: `string service = 1`. */
export const readHealthRequest = (bytes: Uint8Array): string => {
  const r = new WireReader(bytes)
  let service = ""
  while (r.pos < r.end) {
    const tag = r.varint()
    if (tag >>> 3 === 1 && (tag & 7) === 2) service = r.string()
    else r.skip(tag & 7)
  }
  return service
}

/** HealthCheckResponse: `ServingStatus status = 1` (a varint; the default 0 encodes as nothing). */
export const encodeHealthResponse = (status: number): Buffer => (status === 0 ? Buffer.alloc(0) : Buffer.from([0x08, status]))

/**
 * Check answers at once; Watch sends the status now and again whenever it changes, until the client leaves or
 * `stop()` (at shutdown: it sends the final status and ends every Watch, so the server can close).
 * `status(service)` is undefined for a service this server does not know.
 */
export const makeHealthService = (status: (service: string) => number | undefined) => {
  const watches = new Set<() => void>()
  const handlers = {
    Check: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      let service: string
      try {
        service = readHealthRequest(call.request)
      } catch {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: "malformed HealthCheckRequest" }, null)
        return
      }
      const s = status(service)
      if (s === undefined) callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${service}` }, null)
      else callback(null, encodeHealthResponse(s))
    },
    Watch: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      let service: string
      try {
        service = readHealthRequest(call.request)
      } catch {
        call.emit("error", { code: grpc.status.INVALID_ARGUMENT, details: "malformed HealthCheckRequest" })
        return
      }
      let last = -1
      const send = () => {
        const s = status(service) ?? ServingStatus.SERVICE_UNKNOWN
        if (s !== last) {
          last = s
          call.write(encodeHealthResponse(s))
        }
      }
      const finish = () => {
        send()
        call.end()
      }
      send()
      watches.add(finish)
      call.on("cancelled", () => watches.delete(finish))
    }
  }
  return {
    handlers,
    stop: () => {
      for (const finish of watches) finish()
      watches.clear()
    }
  }
}
