// The standard grpc.health.v1 service on the gRPC port.
import * as grpc from "@grpc/grpc-js"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import { GrpcServer } from "../../src/ingest/grpc-server.ts"
import { encodeHealthResponse, readHealthRequest } from "../../src/ingest/health.ts"
import { meshsightLayer } from "../support/meshsight.ts"
import { waitFor } from "../support/wait-for.ts"

const raw = (b: Buffer) => b
const HealthClient = grpc.makeGenericClientConstructor(
  {
    Check: {
      path: "/grpc.health.v1.Health/Check",
      requestStream: false,
      responseStream: false,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw
    },
    Watch: {
      path: "/grpc.health.v1.Health/Watch",
      requestStream: false,
      responseStream: true,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw
    }
  },
  "Health"
)

/** HealthCheckRequest { service = 1 } */
const request = (service: string) => Buffer.concat([Buffer.from([0x0a, service.length]), Buffer.from(service)])
/** HealthCheckResponse.status, 0 when the field is absent */
const statusOf = (b: Buffer) => (b.length === 0 ? 0 : b[1])

describe("gRPC health", () => {
  it("request and response codecs", () => {
    expect(readHealthRequest(request("envoy.service.accesslog.v3.AccessLogService"))).toBe("envoy.service.accesslog.v3.AccessLogService")
    expect([...encodeHealthResponse(1)]).toStrictEqual([0x08, 1])
  })

  it.live("Check answers SERVING for the server and its services, NOT_FOUND otherwise; Watch ends NOT_SERVING at shutdown", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(meshsightLayer(), scope)
      const port = context.mapUnsafe.get(GrpcServer.key) as { port: number }
      const client = new HealthClient(`127.0.0.1:${port.port}`, grpc.credentials.createInsecure()) as any
      const check = (service: string) =>
        Effect.callback<{ code: number; status?: number }>((resume) => {
          client.Check(request(service), (err: grpc.ServiceError | null, res: Buffer) =>
            resume(Effect.succeed(err ? { code: err.code } : { code: 0, status: statusOf(res) }))
          )
        })
      expect(yield* check("")).toStrictEqual({ code: 0, status: 1 })
      expect(yield* check("envoy.service.accesslog.v3.AccessLogService")).toStrictEqual({ code: 0, status: 1 })
      expect(yield* check("no.such.Service")).toStrictEqual({ code: grpc.status.NOT_FOUND })

      const seen: Array<number> = []
      const watch = client.Watch(request(""))
      watch.on("data", (b: Buffer) => seen.push(statusOf(b)))
      const ended = new Promise<void>((resolve) => watch.on("end", () => resolve()))
      watch.on("error", () => {})
      yield* Effect.promise(() =>
        waitFor(
          "the first status",
          () => seen,
          (s) => s.length > 0
        )
      )
      yield* Scope.close(scope, Exit.void)
      yield* Effect.promise(() => ended)
      client.close()
      expect(seen).toStrictEqual([1, 2]) // SERVING, then NOT_SERVING
    })
  )
})
