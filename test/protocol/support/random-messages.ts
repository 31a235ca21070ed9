// Random StreamAccessLogsMessages in protobufjs's object form for Envoy's official v3 protos: every field
// meshsight reads, and around them the fields Envoy sends that meshsight skips (all wire types: doubles, maps,
// repeated messages, wrappers, enums). Each field is present or absent at random so both paths get exercised.
import { officialType } from "./official.ts"
import type { Rng } from "./prng.ts"

type Obj = Record<string, unknown>

const maybe = <A>(rng: Rng, make: () => A, p = 0.75): A | undefined => (rng.chance(p) ? make() : undefined)
const many = <A>(rng: Rng, max: number, make: () => A): Array<A> => Array.from({ length: rng.int(0, max) }, make)
const stringMap = (rng: Rng, keys: ReadonlyArray<string>): Record<string, string> =>
  Object.fromEntries(keys.filter(() => rng.chance(0.5)).map((k) => [k, rng.string(12)]))

/** uint64 counters across varint lengths, up to 2^53 − 1 (what a double holds exactly). */
const counter = (rng: Rng): number =>
  rng.pick([0, 1, 127, 128, 16_383, 16_384, 2 ** 31, 2 ** 32, 2 ** 35 + 7, Number.MAX_SAFE_INTEGER, rng.int(0, 2 ** 40)])

const ipv4 = (rng: Rng) => Array.from({ length: 4 }, () => rng.int(0, 255)).join(".")
const ipv6 = (rng: Rng) => Array.from({ length: 8 }, () => rng.int(0, 0xffff).toString(16)).join(":")

/** envoy.config.core.v3.Address: socket_address 1 (IPv4/IPv6, port or named port), pipe 2, internal 3, or empty. */
const address = (rng: Rng): Obj =>
  rng.pick<() => Obj>([
    () => ({
      socketAddress: {
        protocol: rng.int(0, 1),
        address: rng.chance(0.5) ? ipv4(rng) : ipv6(rng),
        ...(rng.chance(0.9) ? { portValue: rng.int(0, 65_535) } : { namedPort: "http" }),
        resolverName: maybe(rng, () => "envoy.resolvers.x", 0.2),
        ipv4Compat: rng.chance(0.2)
      }
    }),
    () => ({ socketAddress: { address: ipv4(rng) } }), // port 0 omitted on the wire
    () => ({ pipe: { path: `/var/run/${rng.string(10)}`, mode: rng.int(0, 0o777) } }),
    () => ({ envoyInternalAddress: { serverListenerName: "internal", endpointId: rng.string(6) } }),
    () => ({})
  ])()

/** google.protobuf.Value of every kind, including the doubles that need exact bits (−0, NaN, ±∞, subnormal). */
const value = (rng: Rng, depth: number): Obj =>
  rng.pick<() => Obj>([
    () => ({ nullValue: 0 }),
    () => ({ numberValue: rng.pick([0, -0, 1.5, -(2 ** 60), 5e-324, 1.7976931348623157e308, NaN, Infinity, -Infinity, rng.next()]) }),
    () => ({ stringValue: rng.string(20) }),
    () => ({ boolValue: rng.chance(0.5) }),
    () => (depth > 0 ? { structValue: struct(rng, depth - 1) } : { boolValue: true }),
    () => (depth > 0 ? { listValue: { values: many(rng, 4, () => value(rng, depth - 1)) } } : { stringValue: "" }),
    () => ({}) // no kind at all: reads as null
  ])()

/** Struct keys stay distinct and non-numeric: a JS object orders integer-like keys first, and merges duplicates. */
export const struct = (rng: Rng, depth = 3): Obj => ({
  fields: Object.fromEntries(many(rng, 5, () => 0).map((_, i) => [`k${i}_${rng.string(6)}`, value(rng, depth)]))
})

const duration = (rng: Rng): Obj =>
  rng.chance(0.05)
    ? { seconds: -rng.int(0, 3), nanos: -rng.int(1, 999_999_999) } // negative: both parts share the sign
    : { seconds: rng.pick([0, 1, rng.int(0, 100_000)]), nanos: rng.int(0, 999_999_999) }

/** Timestamps around now, at the epoch, and before 1970 (negative seconds, nanos still positive). */
const timestamp = (rng: Rng): Obj => ({
  seconds: rng.pick([0, -rng.int(1, 10 ** 9), rng.int(1_600_000_000, 1_800_000_000)]),
  nanos: rng.int(0, 999_999_999)
})

const certificate = (rng: Rng): Obj => ({
  // oneof san: uri 1 (SPIFFE ids, sometimes empty) or dns 2
  subjectAltName: many(rng, 3, () =>
    rng.pick([{ uri: `spiffe://cluster.local/ns/${rng.string(5)}/sa/${rng.string(5)}` }, { uri: "" }, { dns: "a.example" }])
  ),
  subject: maybe(rng, () => `CN=${rng.string(10)}`),
  issuer: maybe(rng, () => "O=cluster.local")
})

const tls = (rng: Rng): Obj => ({
  tlsVersion: rng.int(0, 4),
  tlsCipherSuite: maybe(rng, () => ({ value: rng.int(0, 0xffff) })),
  tlsSniHostname: maybe(rng, () => "outbound_.9080_._.reviews"),
  localCertificateProperties: maybe(rng, () => certificate(rng)),
  peerCertificateProperties: maybe(rng, () => certificate(rng)),
  tlsSessionId: maybe(rng, () => rng.string(16)),
  ja3Fingerprint: maybe(rng, () => rng.string(16))
})

/** Every ResponseFlags field of the official proto (incl. any past 28) set at random; 13 is a message. */
const responseFlags = (rng: Rng): Obj =>
  Object.fromEntries(
    officialType("envoy.data.accesslog.v3.ResponseFlags")
      .fieldsArray.filter(() => rng.chance(0.3))
      .map((f) => [f.name, f.id === 13 ? { reason: rng.int(0, 1) } : rng.chance(0.8)])
  )

const encodeWellKnown = (type: string, obj: Obj): Uint8Array => {
  const t = officialType(type)
  return t.encode(t.fromObject(obj)).finish()
}

/** filter_state_objects: Any(Struct) as Istio ≥ 1.24 sends peers, Any(BytesValue) as older Istio does, and others. */
const filterState = (rng: Rng): Record<string, Obj> =>
  Object.fromEntries(
    many(rng, 3, () => 0).map((_, i) => [
      `${rng.pick(["upstream_peer", "downstream_peer", "wasm.upstream_peer", "wasm.downstream_peer", "x"])}#${i}`,
      rng.pick<() => Obj>([
        () => ({
          type_url: "type.googleapis.com/google.protobuf.Struct",
          value: encodeWellKnown("google.protobuf.Struct", struct(rng, 1))
        }),
        () => ({
          type_url: "type.googleapis.com/google.protobuf.BytesValue",
          value: encodeWellKnown("google.protobuf.BytesValue", { value: rng.bytes(rng.int(0, 40)) })
        }),
        () => ({ type_url: "type.googleapis.com/envoy.Unknown", value: rng.bytes(rng.int(0, 8)) }),
        () => ({})
      ])()
    ])
  )

const TIMINGS = [
  "timeToLastRxByte",
  "timeToFirstUpstreamTxByte",
  "timeToLastUpstreamTxByte",
  "timeToFirstUpstreamRxByte",
  "timeToLastUpstreamRxByte",
  "timeToFirstDownstreamTxByte",
  "timeToLastDownstreamTxByte",
  "duration"
]
const ADDRESSES = [
  "downstreamRemoteAddress",
  "downstreamLocalAddress",
  "downstreamDirectRemoteAddress",
  "upstreamRemoteAddress",
  "upstreamLocalAddress"
]

const common = (rng: Rng): Obj => ({
  sampleRate: maybe(rng, () => rng.next()), // a double: fixed64 on the wire
  ...Object.fromEntries(ADDRESSES.map((k) => [k, maybe(rng, () => address(rng))])),
  ...Object.fromEntries(TIMINGS.map((k) => [k, maybe(rng, () => duration(rng))])),
  tlsProperties: maybe(rng, () => tls(rng), 0.5),
  startTime: maybe(rng, () => timestamp(rng), 0.9),
  upstreamCluster: maybe(rng, () => `outbound|9080||${rng.string(30)}.svc.cluster.local`),
  responseFlags: maybe(rng, () => responseFlags(rng), 0.5),
  metadata: maybe(rng, () => ({ filterMetadata: { istio: struct(rng, 1) } }), 0.3),
  upstreamTransportFailureReason: maybe(rng, () => rng.string(10), 0.2),
  routeName: maybe(rng, () => "default", 0.5),
  filterStateObjects: maybe(rng, () => filterState(rng), 0.6),
  customTags: maybe(rng, () => stringMap(rng, ["a", "b"]), 0.3),
  upstreamRequestAttemptCount: maybe(rng, () => rng.int(0, 5)),
  connectionTerminationDetails: maybe(rng, () => rng.string(8), 0.2),
  streamId: maybe(rng, () => rng.string(20), 0.5),
  intermediateLogEntry: maybe(rng, () => rng.chance(0.5), 0.3),
  downstreamTransportFailureReason: maybe(rng, () => rng.string(8), 0.2),
  downstreamWireBytesSent: maybe(rng, () => counter(rng)),
  downstreamWireBytesReceived: maybe(rng, () => counter(rng)),
  upstreamWireBytesSent: maybe(rng, () => counter(rng)),
  upstreamWireBytesReceived: maybe(rng, () => counter(rng)),
  accessLogType: maybe(rng, () => rng.int(0, 13))
})

/** grpc-status values incl. the ones that are not a code ("" and " 1" would both read as a number in JS). */
const trailers = (rng: Rng): Record<string, string> => ({
  ...stringMap(rng, ["grpc-message", "x-trailer"]),
  ...(rng.chance(0.6) ? { "grpc-status": rng.pick(["0", "14", "2", "007", "", " 1", "abc", "1e2", "-1"]) } : {})
})

/** W3C and SkyWalking trace headers, well-formed or not. */
const traceHeaders = (rng: Rng): Record<string, string> => ({
  ...(rng.chance(0.3) ? { traceparent: rng.pick([`00-${rng.string(32)}-${rng.string(16)}-01`, rng.string(20), ""]) } : {}),
  ...(rng.chance(0.3) ? { sw8: rng.pick([`1-${Buffer.from(rng.string(20)).toString("base64")}-${rng.string(8)}-0`, rng.string(20)]) } : {})
})

const httpEntry = (rng: Rng): Obj => ({
  commonProperties: maybe(rng, () => common(rng), 0.95),
  protocolVersion: rng.int(0, 4),
  request: maybe(rng, () => ({
    requestMethod: rng.int(0, 9),
    scheme: maybe(rng, () => rng.pick(["http", "https"])),
    authority: maybe(rng, () => `reviews:${rng.int(1, 9999)}`),
    port: maybe(rng, () => ({ value: rng.int(0, 65_535) }), 0.3),
    path: maybe(rng, () => `/${rng.string(40)}`),
    // Sometimes past the codec's bound (HEADER_VALUE_MAX_BYTES), where it must cut at a character boundary.
    userAgent: maybe(rng, () => rng.string(rng.chance(0.2) ? 400 : 20), 0.5),
    referer: maybe(rng, () => rng.string(10), 0.2),
    forwardedFor: maybe(rng, () => ipv4(rng), 0.3),
    requestId: maybe(rng, () => rng.string(36)),
    originalPath: maybe(rng, () => rng.string(10), 0.2),
    requestHeadersBytes: maybe(rng, () => counter(rng)),
    requestBodyBytes: maybe(rng, () => counter(rng)),
    requestHeaders: maybe(rng, () => ({ ...stringMap(rng, ["x-b3-traceid", "user-agent", ":path"]), ...traceHeaders(rng) })),
    upstreamHeaderBytesSent: maybe(rng, () => counter(rng), 0.3),
    downstreamHeaderBytesReceived: maybe(rng, () => counter(rng), 0.3)
  })),
  response: maybe(rng, () => ({
    responseCode: maybe(rng, () => ({ value: rng.pick([0, 200, 404, 503, 4_294_967_295, rng.int(100, 599)]) })),
    responseHeadersBytes: maybe(rng, () => counter(rng)),
    responseBodyBytes: maybe(rng, () => counter(rng)),
    responseHeaders: maybe(rng, () => stringMap(rng, ["content-type", "server", "x-envoy-upstream-service-time"])),
    responseTrailers: maybe(rng, () => trailers(rng), 0.5),
    responseCodeDetails: maybe(rng, () => rng.pick(["via_upstream", "route_not_found", rng.string(20)])),
    upstreamHeaderBytesReceived: maybe(rng, () => counter(rng), 0.3),
    downstreamHeaderBytesSent: maybe(rng, () => counter(rng), 0.3)
  }))
})

const tcpEntry = (rng: Rng): Obj => ({
  commonProperties: maybe(rng, () => common(rng), 0.95),
  connectionProperties: maybe(rng, () => ({
    receivedBytes: maybe(rng, () => counter(rng)),
    sentBytes: maybe(rng, () => counter(rng))
  }))
})

/** envoy.config.core.v3.Node: what meshsight reads (id 1, cluster 2, metadata 3) amid all the rest. */
export const node = (rng: Rng): Obj => ({
  id: maybe(rng, () => `sidecar~${ipv4(rng)}~${rng.string(10)}.default~default.svc.cluster.local`),
  cluster: maybe(rng, () => rng.string(20)),
  metadata: maybe(rng, () => struct(rng)),
  locality: maybe(rng, () => ({ region: "r", zone: "z", subZone: rng.string(4) }), 0.3),
  userAgentName: maybe(rng, () => "envoy"),
  userAgentVersion: maybe(rng, () => "1.36.0", 0.5),
  extensions: maybe(rng, () => many(rng, 2, () => ({ name: rng.string(8), category: "envoy.filters" })), 0.3),
  clientFeatures: maybe(rng, () => many(rng, 3, () => rng.string(8)), 0.3),
  listeningAddresses: maybe(rng, () => many(rng, 2, () => address(rng)), 0.3)
})

export const identifier = (rng: Rng): Obj => ({ node: maybe(rng, () => node(rng), 0.9), logName: maybe(rng, () => rng.string(12)) })

/** One message: the identifier (as on a stream's first message) or not, then HTTP or TCP entries (a oneof). */
export const randomAlsMessage = (rng: Rng): Obj => {
  const http = rng.chance(0.7)
  const entries = many(rng, 6, () => (http ? httpEntry(rng) : tcpEntry(rng)))
  return {
    identifier: maybe(rng, () => identifier(rng), 0.5),
    ...(http ? { httpLogs: { logEntry: entries } } : { tcpLogs: { logEntry: entries } })
  }
}
