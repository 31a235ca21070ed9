// proto/ against Envoy's official protos (npm @grpc/grpc-js-xds, deps/envoy-api):
// (a) schema: every message and field of meshsight's trimmed protos exists in the official ones with the same
//     number, type, label, map key and oneof, and the trimmed protos hold exactly the fields the codec reads;
// (b) values: messages encoded with the official protos — random ones from a seeded PRNG, with unknown fields at
//     every level, and the captured Envoy fixtures — decode through src/protocol exactly as protobufjs decodes
//     them with the official protos (mapped to the domain by support/official.ts).
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import protobuf from "protobufjs"
import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import { type AccessLog, AlsMessage } from "../../src/domain/access-log.ts"
import { alsDecoder, decodeAlsMessage } from "../../src/protocol/als-codec.ts"
import { decodeStruct } from "../../src/protocol/struct-codec.ts"
import { ALS_FIXTURES, fixtureBytes } from "../support/fixtures.ts"
import {
  type Decoded,
  decodeOfficial,
  decodeOfficialAs,
  encodeNoisy,
  expectedAlsMessage,
  jsonOfStruct,
  officialRoot,
  officialType,
  StreamAccessLogsMessage,
  V2_NODE_BUILD_VERSION
} from "./support/official.ts"
import { makeRng } from "./support/prng.ts"
import { loadOurProtos, wireTypeOf } from "./support/protos.ts"
import { identifier, node, randomAlsMessage } from "./support/random-messages.ts"
import { concat, lenField, stringField } from "./support/wire.ts"

// ---- loading the protos ----

const ENVOY_API = join(dirname(createRequire(import.meta.url).resolve("@grpc/grpc-js-xds/package.json")), "deps/envoy-api")

const ours = loadOurProtos(false)

/**
 * The official v2 files, parsed but not resolved: the package ships envoy/service/accesslog/v2/als.proto and
 * envoy/data/accesslog/v2/accesslog.proto but not the envoy/api/v2/core/*.proto they import.
 */
const officialV2: protobuf.Root = (() => {
  const root = new protobuf.Root()
  for (const file of ["envoy/service/accesslog/v2/als.proto", "envoy/data/accesslog/v2/accesslog.proto"]) {
    protobuf.parse(readFileSync(join(ENVOY_API, file), "utf8"), root, { keepCase: false })
  }
  return root
})()

const typesIn = (ns: protobuf.NamespaceBase): Array<protobuf.Type> =>
  ns.nestedArray.flatMap((n) => [...(n instanceof protobuf.Type ? [n] : []), ...(n instanceof protobuf.Namespace ? typesIn(n) : [])])

/** meshsight's own envoy.* messages (google.protobuf.* are the bundled standard types on both sides). */
const ourEnvoyTypes = typesIn(ours).filter((t) => t.fullName.startsWith(".envoy."))

// ---- (a) schema ----

/** What must agree between two definitions of a field; `qualify` names its type (full name, or last part). */
const fieldShape = (f: protobuf.Field, qualify: (typeName: string) => string) => ({
  name: f.name,
  type: qualify(f.resolvedType?.fullName ?? f.type),
  label: f instanceof protobuf.MapField ? `map<${f.keyType}>` : f.repeated ? "repeated" : "singular",
  oneof: f.partOf?.name
})
const fullName = (t: string) => t
const lastPart = (t: string) => t.slice(t.lastIndexOf(".") + 1)

/** The official v3 counterpart; v2's Node is not in the package, and the v3 Node keeps its numbers 1–3. */
const officialV3Counterpart = (t: protobuf.Type): protobuf.Type => officialType(asV3(t.fullName))
const asV3 = (typeName: string): string =>
  typeName.replace(".envoy.api.v2.core.", ".envoy.config.core.v3.").replace(".service.accesslog.v2.", ".service.accesslog.v3.")

/**
 * What src/protocol/als-codec.ts (with http-entry.ts, tcp-entry.ts, common-properties.ts, well-known.ts) and
 * struct-codec.ts read, by message and field number (see their comments):
 * the trimmed protos must define exactly these.
 */
const CODEC_READS: Record<string, ReadonlyArray<number>> = {
  StreamAccessLogsResponse: [], // the service's reply, empty
  StreamAccessLogsMessage: [1, 2, 3],
  "StreamAccessLogsMessage.Identifier": [1, 2],
  "StreamAccessLogsMessage.HTTPAccessLogEntries": [1],
  "StreamAccessLogsMessage.TCPAccessLogEntries": [1],
  Node: [1, 2, 3],
  HTTPAccessLogEntry: [1, 2, 3, 4],
  TCPAccessLogEntry: [1, 2],
  ConnectionProperties: [1, 2],
  AccessLogCommon: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 21],
  ResponseFlags: Array.from({ length: 28 }, (_, i) => i + 1),
  "ResponseFlags.Unauthorized": [],
  TLSProperties: [4, 5],
  "TLSProperties.CertificateProperties": [1, 2],
  "TLSProperties.CertificateProperties.SubjectAltName": [1],
  HTTPRequestProperties: [1, 2, 3, 5, 6, 9, 11, 12, 13],
  HTTPResponseProperties: [1, 2, 3, 5, 6],
  Address: [1, 3],
  SocketAddress: [2, 3],
  EnvoyInternalAddress: [1, 2]
}

/** The name CODEC_READS uses: the type's name inside its package. */
const shortName = (t: protobuf.Type): string => {
  const parts: Array<string> = []
  for (let n: protobuf.ReflectionObject | null = t; n instanceof protobuf.Type; n = n.parent) parts.unshift(n.name)
  return parts.join(".")
}

describe("schema: proto/ against Envoy's official protos", () => {
  it("loads both sides and finds every trimmed message", () => {
    expect(ourEnvoyTypes.map((t) => t.fullName).sort()).toMatchInlineSnapshot(`
      [
        ".envoy.api.v2.core.Node",
        ".envoy.config.core.v3.Address",
        ".envoy.config.core.v3.EnvoyInternalAddress",
        ".envoy.config.core.v3.Node",
        ".envoy.config.core.v3.SocketAddress",
        ".envoy.data.accesslog.v3.AccessLogCommon",
        ".envoy.data.accesslog.v3.ConnectionProperties",
        ".envoy.data.accesslog.v3.HTTPAccessLogEntry",
        ".envoy.data.accesslog.v3.HTTPRequestProperties",
        ".envoy.data.accesslog.v3.HTTPResponseProperties",
        ".envoy.data.accesslog.v3.ResponseFlags",
        ".envoy.data.accesslog.v3.ResponseFlags.Unauthorized",
        ".envoy.data.accesslog.v3.TCPAccessLogEntry",
        ".envoy.data.accesslog.v3.TLSProperties",
        ".envoy.data.accesslog.v3.TLSProperties.CertificateProperties",
        ".envoy.data.accesslog.v3.TLSProperties.CertificateProperties.SubjectAltName",
        ".envoy.service.accesslog.v2.StreamAccessLogsMessage",
        ".envoy.service.accesslog.v2.StreamAccessLogsMessage.HTTPAccessLogEntries",
        ".envoy.service.accesslog.v2.StreamAccessLogsMessage.Identifier",
        ".envoy.service.accesslog.v2.StreamAccessLogsMessage.TCPAccessLogEntries",
        ".envoy.service.accesslog.v2.StreamAccessLogsResponse",
        ".envoy.service.accesslog.v3.StreamAccessLogsMessage",
        ".envoy.service.accesslog.v3.StreamAccessLogsMessage.HTTPAccessLogEntries",
        ".envoy.service.accesslog.v3.StreamAccessLogsMessage.Identifier",
        ".envoy.service.accesslog.v3.StreamAccessLogsMessage.TCPAccessLogEntries",
        ".envoy.service.accesslog.v3.StreamAccessLogsResponse",
      ]
    `)
  })

  it.each(ourEnvoyTypes.map((t) => [t.fullName, t] as const))("%s: every field as in the official v3 proto", (_, t) => {
    const official = officialV3Counterpart(t)
    // The v2 service messages reuse the v3 entry types (see proto/envoy/service/accesslog/v2/als.proto).
    const qualify = t.fullName.startsWith(".envoy.service.accesslog.v2.") ? asV3 : fullName
    for (const f of t.fieldsArray) {
      const o = official.fieldsById[f.id]
      expect(o, `${t.fullName} field ${f.id}`).toBeDefined()
      o.resolve()
      expect(fieldShape(f, qualify), `${t.fullName}.${f.name} = ${f.id}`).toEqual(fieldShape(o, fullName))
      expect(wireTypeOf(f), `${t.fullName}.${f.name} wire type`).toBe(wireTypeOf(o))
    }
  })

  it("every enum value of ours has the official number", () => {
    const enums = ["envoy.config.core.v3.RequestMethod", "envoy.data.accesslog.v3.HTTPAccessLogEntry.HTTPVersion"]
    for (const name of enums) {
      expect(ours.lookupEnum(name).values, name).toEqual(
        Object.fromEntries(Object.keys(ours.lookupEnum(name).values).map((k) => [k, officialRoot.lookupEnum(name).values[k]]))
      )
    }
  })

  it("v2: the official v2 messages carry every field we read under the same number, name and type", () => {
    // Our v2 service reuses the v3 entries: compare those with envoy.data.accesslog.v2 (type names by last part).
    const pairs: Array<[protobuf.Type, string]> = ourEnvoyTypes
      .filter((t) => t.fullName.startsWith(".envoy.service.accesslog.v2.") || t.fullName.startsWith(".envoy.data.accesslog.v3."))
      .map((t) => [t, t.fullName.replace(".data.accesslog.v3.", ".data.accesslog.v2.")])
    const v3Only: Array<string> = []
    for (const [t, v2Name] of pairs) {
      const official = officialV2.lookupType(v2Name)
      for (const f of t.fieldsArray) {
        const o = official.fieldsById[f.id]
        if (o === undefined) {
          v3Only.push(`${shortName(t)}.${f.id}`)
          continue
        }
        expect(fieldShape(f, lastPart), `${v2Name}.${f.name}`).toEqual(fieldShape(o, lastPart))
      }
    }
    // ResponseFlags 20–28 came with v3; a v2 Envoy never sends them.
    expect(v3Only).toEqual(Array.from({ length: 9 }, (_, i) => `ResponseFlags.${i + 20}`))
  })

  it("the trimmed protos define exactly the fields the codec reads", () => {
    const defined = Object.fromEntries(
      ourEnvoyTypes
        .filter((t) => !t.fullName.startsWith(".envoy.service.accesslog.v2.") && t.fullName !== ".envoy.api.v2.core.Node")
        .map((t) => [shortName(t), t.fieldsArray.map((f) => f.id).sort((a, b) => a - b)])
    )
    expect(defined).toEqual(CODEC_READS)
  })
})

// ---- (b) values ----

/**
 * start_time is compared within a microsecond (see support/official.ts), everything else exactly. Filter state
 * values are views of the input (a Buffer when protobufjs encoded it): compared as plain bytes.
 */
const comparable = (m: AlsMessage) => ({
  ...m,
  entries: m.entries.map((e) => ({
    ...e,
    common: {
      ...e.common,
      startTimeMs: 0,
      filterState: e.common.filterState.map((fs) => ({ ...fs, value: Uint8Array.from(fs.value) }))
    }
  }))
})

const StructType = officialType("google.protobuf.Struct")

const expectSameDecoding = (bytes: Uint8Array): AlsMessage => {
  const actual = decodeAlsMessage(bytes)
  // The hand-written codec builds values of the domain Schemas (src/domain/access-log.ts): prove it does.
  Schema.asserts(AlsMessage, actual)
  const expected = expectedAlsMessage(decodeOfficial(bytes))
  expect(comparable(actual)).toEqual(comparable(expected))
  actual.entries.forEach((e, i) => {
    expect(Math.abs(e.common.startTimeMs - expected.entries[i].common.startTimeMs)).toBeLessThanOrEqual(1e-3)
  })
  // Any(Struct) payloads (Istio's peer metadata) decode as protobufjs decodes them.
  for (const e of actual.entries) {
    for (const fs of e.common.filterState) {
      if (fs.typeUrl.endsWith("/google.protobuf.Struct")) {
        expect(decodeStruct(fs.value)).toEqual(jsonOfStruct(decodeOfficialAs(StructType, fs.value)))
      }
    }
  }
  return actual
}

/** Records `Type.fieldNumber` of every field present in a decoded official object, through all nesting. */
const collectPresent = (type: protobuf.Type, obj: Decoded, seen: Set<string>): void => {
  for (const f of type.fieldsArray) {
    const v = obj?.[f.name]
    if (v === undefined || v === null) continue
    seen.add(`${type.fullName}.${f.id}`)
    const child = f.resolve().resolvedType
    if (!(child instanceof protobuf.Type)) continue
    const values: Array<Decoded> = f.map ? Object.values(v) : f.repeated ? v : [v]
    for (const x of values) collectPresent(child, x, seen)
  }
}

/** A v2 message: a v3 encoding plus v2 Node's build_version (5), a number the v3 Node reserves. */
const encodeV2 = (json: Decoded, rng: ReturnType<typeof makeRng>): Uint8Array => {
  const Identifier = officialType("envoy.service.accesslog.v3.StreamAccessLogsMessage.Identifier")
  const Node = officialType("envoy.config.core.v3.Node")
  const { identifier: id, ...rest } = json
  const nodeBytes = concat(encodeNoisy(Node, id.node, rng), stringField(V2_NODE_BUILD_VERSION, "1.13.0/envoy"))
  return concat(
    lenField(1, concat(lenField(1, nodeBytes), encodeNoisy(Identifier, { logName: id.logName }, rng))),
    encodeNoisy(StreamAccessLogsMessage, rest, rng)
  )
}

describe("values: the codec decodes what the official protos encode", () => {
  it.each(ALS_FIXTURES)("captured Envoy message %s", (name) => {
    const message = expectSameDecoding(fixtureBytes(name))
    expect(message.entries.length).toBeGreaterThan(0)
    expect(message.identifier?.node.id).not.toBe("")
  })

  it("random messages with every field we read, and unknown fields at every level (seeded)", () => {
    const rng = makeRng(0x5eed_0001)
    const seen = new Set<string>()
    let entries = 0
    for (let i = 0; i < 400; i++) {
      const json = randomAlsMessage(rng)
      // Half plain protobufjs encodings, half with unknown fields of every wire type spliced in.
      const bytes =
        i % 2 === 0
          ? StreamAccessLogsMessage.encode(StreamAccessLogsMessage.fromObject(json)).finish()
          : encodeNoisy(StreamAccessLogsMessage, json, rng)
      const message = expectSameDecoding(bytes)
      expect(message.rejected).toEqual([])
      entries += message.entries.length
      collectPresent(StreamAccessLogsMessage, decodeOfficial(bytes), seen)
    }
    expect(entries).toBeGreaterThan(800)
    // The corpus set every field the trimmed protos define (so every field the codec reads was compared).
    const missing = ourEnvoyTypes
      .filter((t) => !t.fullName.startsWith(".envoy.service.accesslog.v2.") && t.fullName !== ".envoy.api.v2.core.Node")
      .flatMap((t) => t.fieldsArray.map((f) => `${t.fullName}.${f.id}`))
      .filter((k) => !seen.has(k))
    expect(missing).toEqual([])
  })

  it("reading fewer groups of fields: the same entries, with only the groups left out empty (seeded)", () => {
    const rng = makeRng(0x5eed_0005)
    const withoutLogDetail = (e: AccessLog): AccessLog => {
      const common = {
        ...e.common,
        filterState: e.common.filterState.map((fs) => ({ ...fs, typeUrl: "" })),
        timeToLastRxByteNs: undefined,
        timeToLastUpstreamTxByteNs: undefined
      }
      return e.kind === "http"
        ? { ...e, common, scheme: "", userAgent: "", requestId: "", traceId: "", responseCodeDetails: "" }
        : { ...e, common }
    }
    const withoutAddresses = (e: AccessLog): AccessLog => ({
      ...e,
      common: {
        ...e.common,
        downstreamRemoteAddress: undefined,
        downstreamLocalAddress: undefined,
        downstreamDirectRemoteAddress: undefined,
        upstreamRemoteAddress: undefined,
        upstreamLocalAddress: undefined
      }
    })
    const withoutFilterState = (e: AccessLog): AccessLog => ({ ...e, common: { ...e.common, filterState: [] } })
    // Every choice but reading all three groups.
    const choices = Array.from({ length: 7 }, (_, bits) => ({
      logDetail: (bits & 1) !== 0,
      addresses: (bits & 2) !== 0,
      filterState: (bits & 4) !== 0
    }))
    const skipped = { http: 0, filterState: 0, addresses: 0, durations: 0 }
    for (let i = 0; i < 200; i++) {
      const bytes = encodeNoisy(StreamAccessLogsMessage, randomAlsMessage(rng), rng)
      const complete = decodeAlsMessage(bytes)
      for (const choice of choices) {
        const partial = alsDecoder(choice)(bytes)
        Schema.asserts(AlsMessage, partial)
        const expected = complete.entries
          .map((e) => (choice.logDetail ? e : withoutLogDetail(e)))
          .map((e) => (choice.addresses ? e : withoutAddresses(e)))
          .map((e) => (choice.filterState ? e : withoutFilterState(e)))
        expect(comparable(partial), JSON.stringify(choice)).toEqual(comparable({ ...complete, entries: expected }))
      }
      for (const e of complete.entries) {
        if (e.kind === "http" && (e.scheme !== "" || e.requestId !== "" || e.userAgent !== "" || e.traceId !== "")) skipped.http++
        skipped.filterState += e.common.filterState.filter((fs) => fs.typeUrl !== "").length
        if (e.common.timeToLastRxByteNs !== undefined || e.common.timeToLastUpstreamTxByteNs !== undefined) skipped.durations++
        if (e.common.downstreamRemoteAddress !== undefined || e.common.upstreamRemoteAddress !== undefined) skipped.addresses++
      }
    }
    // The corpus had fields to skip.
    expect(skipped.http).toBeGreaterThan(100)
    expect(skipped.filterState).toBeGreaterThan(100)
    expect(skipped.addresses).toBeGreaterThan(100)
    expect(skipped.durations).toBeGreaterThan(100)
    // Reading every group is the complete decoder itself.
    expect(alsDecoder({ logDetail: true, addresses: true, filterState: true })).toBe(decodeAlsMessage)
  })

  it("v2 messages: the same fields, plus Node.build_version which v3 reserves", () => {
    const rng = makeRng(0x5eed_0002)
    for (let i = 0; i < 60; i++) {
      const json = { ...randomAlsMessage(rng), identifier: { ...identifier(rng), node: node(rng) } }
      const message = expectSameDecoding(encodeV2(json, rng))
      expect(message.identifier).toBeDefined()
    }
  })

  it("Struct keys that mean something to JavaScript objects stay plain keys", () => {
    // Assembled by hand: protobufjs's own fromObject/decode assign map keys with `obj[key] =` and lose "__proto__".
    const keys = ["__proto__", "constructor", "toString", "hasOwnProperty", "0", ""]
    const Value = officialType("google.protobuf.Value")
    const entry = (k: string) =>
      lenField(1, concat(stringField(1, k), lenField(2, Value.encode(Value.fromObject({ stringValue: `v:${k}` })).finish())))
    const nodeBytes = concat(stringField(1, "n"), lenField(3, concat(...keys.map(entry))))
    const metadata = decodeAlsMessage(lenField(1, lenField(1, nodeBytes))).identifier!.node.metadata
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype)
    expect(Object.entries(metadata).sort()).toEqual(keys.map((k) => [k, `v:${k}`]).sort())
  })

  it("the grpc-status trailer counts only as a decimal code", () => {
    const status = (v: string) => {
      const entry = { response: { responseTrailers: { "grpc-status": v } } }
      const bytes = StreamAccessLogsMessage.encode(StreamAccessLogsMessage.fromObject({ httpLogs: { logEntry: [entry] } })).finish()
      return (expectSameDecoding(bytes).entries[0] as { grpcStatus?: number }).grpcStatus
    }
    expect(["0", "14", "007", "", " ", " 1", "1e1", "0x1", "-1", "abc"].map(status)).toEqual([
      0,
      14,
      7,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined
    ])
  })

  it("negative durations, pre-1970 start times and 64-bit counters keep their exact values", () => {
    const common = {
      startTime: { seconds: -1, nanos: 1 },
      timeToLastRxByte: { seconds: -1, nanos: -500_000_000 },
      timeToFirstUpstreamTxByte: { seconds: 0, nanos: -7 },
      timeToLastUpstreamTxByte: { seconds: -9_007_199, nanos: -254_740_991 } // −(2^53 − 1) ns
    }
    const bytes = StreamAccessLogsMessage.encode(
      StreamAccessLogsMessage.fromObject({
        tcpLogs: { logEntry: [{ commonProperties: common, connectionProperties: { receivedBytes: 2 ** 53 - 1, sentBytes: 2 ** 32 } }] }
      })
    ).finish()
    const [entry] = expectSameDecoding(bytes).entries
    expect(entry.common).toMatchObject({
      startTimeMs: -999.999999,
      timeToLastRxByteNs: -1_500_000_000,
      timeToFirstUpstreamTxByteNs: -7,
      timeToLastUpstreamTxByteNs: -(2 ** 53 - 1)
    })
    expect(entry).toMatchObject({ receivedBytes: 2 ** 53 - 1, sentBytes: 2 ** 32 })
  })

  it("reads Durations and Timestamps alike on the plain path (1-5 byte varints) and off it (other fields, more bytes)", () => {
    const common = {
      startTime: { seconds: 2 ** 35 - 1, nanos: 999_999_999 }, // both 5-byte varints: the plain path's longest
      timeToLastRxByte: { seconds: 2 ** 35, nanos: 0 }, // 6 bytes: read field by field
      timeToFirstUpstreamTxByte: { nanos: 127 },
      timeToLastUpstreamTxByte: { nanos: 128 },
      timeToFirstUpstreamRxByte: {},
      timeToLastUpstreamRxByte: { seconds: 1 }
    }
    const bytes = StreamAccessLogsMessage.encode(
      StreamAccessLogsMessage.fromObject({ tcpLogs: { logEntry: [{ commonProperties: common }] } })
    ).finish()
    const [entry] = expectSameDecoding(bytes).entries
    expect(entry.common).toMatchObject({
      startTimeMs: ((2 ** 35 - 1) * 1e9 + 999_999_999) / 1e6,
      timeToLastRxByteNs: 2 ** 35 * 1e9,
      timeToFirstUpstreamTxByteNs: 127,
      timeToLastUpstreamTxByteNs: 128,
      timeToFirstUpstreamRxByteNs: 0,
      timeToLastUpstreamRxByteNs: 1e9
    })
    // A Duration with a field after its two (an unknown one) is read field by field, the field skipped.
    const duration = [0x08, 0x02, 0x10, 0x05, 0x18, 0x01] // seconds 2, nanos 5, field 3 = 1
    const withExtra = Uint8Array.from([
      ...[0x1a, duration.length + 6], // StreamAccessLogsMessage.tcp_logs
      ...[0x0a, duration.length + 4], // TCPAccessLogEntries.log_entry
      ...[0x0a, duration.length + 2], // TCPAccessLogEntry.common_properties
      ...[0x32, duration.length, ...duration] // AccessLogCommon.time_to_last_rx_byte
    ])
    expect(expectSameDecoding(withExtra).entries[0].common.timeToLastRxByteNs).toBe(2e9 + 5)
  })
})
