// The decoder under deterministic fuzzing. Whatever the bytes, decodeAlsMessage returns or throws WireError (the
// whole-message failure the pipeline turns into a stream rejection) — nothing else, and promptly. A bad entry
// among good ones is rejected alone, with an informative reason, and the others decode exactly.
import protobuf from "protobufjs"
import { describe, expect, it } from "vitest"
import type { AlsMessage } from "../../src/domain/access-log.ts"
import { alsDecoder, decodeAlsMessage } from "../../src/protocol/als-codec.ts"
import { decodeStruct } from "../../src/protocol/struct-codec.ts"
import { WireError } from "../../src/util/wire-reader.ts"
import { ALS_FIXTURES, fixtureBytes } from "../support/fixtures.ts"
import { decodeOfficial, officialType, StreamAccessLogsMessage } from "./support/official.ts"
import { makeRng, type Rng } from "./support/prng.ts"
import { loadOurProtos, wireTypeOf } from "./support/protos.ts"
import { randomAlsMessage } from "./support/random-messages.ts"
import {
  concat,
  FIXED32,
  FIXED64,
  fixedField,
  LEN,
  lenField,
  START_GROUP,
  stringField,
  tag,
  VARINT,
  varint,
  varintField
} from "./support/wire.ts"

/** Every reason the decoder gives: a named field with its wire types, or what broke in the bytes. */
const INFORMATIVE = [
  /^[A-Za-z0-9_.]+( entry)?: wire type \d, expected \d$/,
  /^truncated (varint|fixed64|fixed-width field)$/,
  /^varint longer than 10 bytes$/,
  /^length \d+ runs past the end of its message$/,
  /^string is not valid UTF-8$/,
  /^unsupported wire type \d$/,
  /^(Struct|ListValue) nested too deeply$/
]
const isInformative = (reason: string): boolean => INFORMATIVE.some((re) => re.test(reason))

/** The decoder's outcome; any exception but WireError propagates and fails the test. */
const decode = (bytes: Uint8Array): AlsMessage | WireError => {
  try {
    return decodeAlsMessage(bytes)
  } catch (e) {
    if (e instanceof WireError) return e
    throw e
  }
}

/** Decodes every input, checking outcomes are typed and reasons informative, within a time budget (no hang). */
const decodeAll = (inputs: Iterable<Uint8Array>, budgetMs: number): Array<AlsMessage | WireError> => {
  const started = performance.now()
  const outcomes: Array<AlsMessage | WireError> = []
  for (const bytes of inputs) {
    const outcome = decode(bytes)
    const reasons = outcome instanceof WireError ? [outcome.message] : outcome.rejected.map((r) => r.reason)
    for (const reason of reasons) expect(isInformative(reason), reason).toBe(true)
    outcomes.push(outcome)
  }
  expect(performance.now() - started).toBeLessThan(budgetMs)
  return outcomes
}

// ---- building messages ----

const HttpEntry = officialType("envoy.data.accesslog.v3.HTTPAccessLogEntry")
const TcpEntry = officialType("envoy.data.accesslog.v3.TCPAccessLogEntry")

/** A plain copy: protobufjs hands out Buffers, whose `slice()` is a view, not a copy to mutate. */
const copy = (bytes: Uint8Array): Uint8Array => Uint8Array.from(bytes)

/** The entries of a captured Envoy message, each encoded on its own as Envoy encodes it. */
const fixtureEntries = (name: (typeof ALS_FIXTURES)[number]): Array<Uint8Array> =>
  decodeOfficial(fixtureBytes(name)).httpLogs.logEntry.map((e: object) => copy(HttpEntry.encode(HttpEntry.fromObject(e)).finish()))

/** StreamAccessLogsMessage with http_logs (2) or tcp_logs (3), each entry as `log_entry` (1). */
const withEntries = (entries: ReadonlyArray<Uint8Array>, logs: 2 | 3 = 2): Uint8Array =>
  lenField(logs, concat(...entries.map((e) => lenField(1, e))))

const GOOD: ReadonlyArray<Uint8Array> = ALS_FIXTURES.flatMap(fixtureEntries)

/** A random message from the compatibility corpus (protobufjs-encoded with the official protos). */
const randomMessage = (rng: Rng): Uint8Array =>
  copy(StreamAccessLogsMessage.encode(StreamAccessLogsMessage.fromObject(randomAlsMessage(rng))).finish())

/**
 * `bad` between good entries: the good ones decode exactly as they do alone, and `bad` is either rejected
 * alone (at its index) or, when still well-formed, decoded. Returns the rejection reason, if any.
 */
const expectOnlyEntryAffected = (bad: Uint8Array, logs: 2 | 3 = 2, good = logs === 2 ? GOOD.slice(0, 2) : []): string | undefined => {
  const at = good.length === 0 ? 0 : 1
  const entries = [...good.slice(0, at), bad, ...good.slice(at)]
  const outcome = decode(withEntries(entries, logs))
  if (outcome instanceof WireError) throw new Error(`the whole message failed: ${outcome.message}`)
  const alone = good.map((g) => decodeAlsMessage(withEntries([g], logs)).entries[0])
  if (outcome.rejected.length === 0) {
    expect(outcome.entries.length).toBe(entries.length)
    expect([...outcome.entries.slice(0, at), ...outcome.entries.slice(at + 1)]).toEqual(alone)
    return undefined
  }
  expect(outcome.rejected.map((r) => r.index)).toEqual([at])
  expect(outcome.entries).toEqual(alone)
  expect(isInformative(outcome.rejected[0].reason), outcome.rejected[0].reason).toBe(true)
  return outcome.rejected[0].reason
}

// ---- wrong wire types, for every field of proto/ ----

interface Mistyped {
  /** `Message.field` as the trimmed proto names it. */
  readonly where: string
  readonly field: string
  readonly message: string
  /** A message of the root type with this field mistyped, once per wrong wire type. */
  readonly variants: ReadonlyArray<Uint8Array>
}

/** A field in each wire type its definition does not allow (payloads themselves well-formed). */
const WRONG: Record<number, ReadonlyArray<(n: number) => Uint8Array>> = {
  [VARINT]: [(n) => lenField(n, Uint8Array.of(0x78)), (n) => fixedField(n, FIXED64, new Uint8Array(8))],
  [FIXED64]: [(n) => varintField(n, 1), (n) => fixedField(n, FIXED32, new Uint8Array(4))],
  [LEN]: [(n) => varintField(n, 1), (n) => fixedField(n, FIXED32, new Uint8Array(4))]
}

/**
 * Every field reachable from `type` in our protos, mistyped, inside a message of `type` (through its parents:
 * map entries get key 1 and their message as value 2). A type already on the path is not entered again.
 */
const mistypedFields = (type: protobuf.Type, onPath: ReadonlyArray<protobuf.Type> = []): Array<Mistyped> =>
  type.fieldsArray.flatMap((f) => {
    const here = {
      where: `${type.name}.${f.name}`,
      field: f.name,
      message: type.name,
      variants: WRONG[wireTypeOf(f)].map((bad) => bad(f.id))
    }
    const child = f.resolvedType
    if (!(child instanceof protobuf.Type) || onPath.includes(child)) return [here]
    const wrap = f.map
      ? (inner: Uint8Array) => lenField(f.id, concat(stringField(1, "k"), lenField(2, inner)))
      : (inner: Uint8Array) => lenField(f.id, inner)
    return [here, ...mistypedFields(child, [...onPath, type]).map((m) => ({ ...m, variants: m.variants.map(wrap) }))]
  })

/** One case per field: a type reached along several paths (Duration, Address) is tested along the first. */
const firstPerField = (cases: Array<Mistyped>): Array<Mistyped> => cases.filter((c, i) => cases.findIndex((d) => d.where === c.where) === i)

const ours = loadOurProtos(true) // snake_case names, as the decoder's reasons spell them

// ---- tests ----

describe("the decoder under bad input", () => {
  it("truncated at every byte offset: a typed error, or the entries before the cut exactly", () => {
    const rng = makeRng(0xbad_0001)
    const messages = [...ALS_FIXTURES.map((name) => copy(fixtureBytes(name))), ...Array.from({ length: 4 }, () => randomMessage(rng))]
    for (const bytes of messages) {
      const full = decodeAlsMessage(bytes)
      const cuts = Array.from({ length: bytes.length }, (_, n) => bytes.subarray(0, n))
      for (const outcome of decodeAll(cuts, 5_000)) {
        // The envelope's lengths are checked: a cut inside a field fails the message, a cut between fields
        // leaves a shorter but valid message.
        if (outcome instanceof WireError) continue
        expect(outcome.rejected).toEqual([])
        expect(outcome.entries).toEqual(full.entries.slice(0, outcome.entries.length))
      }
    }
  })

  it("an entry truncated at every offset (its length fixed up) is rejected alone; the others decode exactly", () => {
    for (const entry of [GOOD[2], GOOD[GOOD.length - 1]]) {
      let rejected = 0
      for (let n = 0; n < entry.length; n++) if (expectOnlyEntryAffected(entry.subarray(0, n)) !== undefined) rejected++
      expect(rejected).toBeGreaterThan(entry.length / 2)
    }
  })

  it("random bit flips: a typed error, or entries and rejections — never anything else", () => {
    const rng = makeRng(0xbad_0002)
    const bases = [...ALS_FIXTURES.map((name) => copy(fixtureBytes(name))), ...Array.from({ length: 6 }, () => randomMessage(rng))]
    const flipped = Array.from({ length: 3_000 }, () => {
      const bytes = copy(rng.pick(bases))
      for (let k = rng.int(1, 4); k > 0; k--) bytes[rng.int(0, bytes.length - 1)] ^= 1 << rng.int(0, 7)
      return bytes
    })
    const outcomes = decodeAll(flipped, 8_000)
    // The fuzzing reaches all three outcomes: clean, entries rejected, message rejected.
    expect(outcomes.some((o) => o instanceof WireError)).toBe(true)
    expect(outcomes.some((o) => !(o instanceof WireError) && o.rejected.length > 0)).toBe(true)
    expect(outcomes.some((o) => !(o instanceof WireError) && o.rejected.length === 0)).toBe(true)
  })

  it("bit flips inside one entry never touch its neighbours", () => {
    const rng = makeRng(0xbad_0003)
    for (let i = 0; i < 400; i++) {
      const bad = copy(rng.pick(GOOD))
      for (let k = rng.int(1, 3); k > 0; k--) bad[rng.int(0, bad.length - 1)] ^= 1 << rng.int(0, 7)
      expectOnlyEntryAffected(bad)
    }
  })

  it("random garbage of every length: a typed error or a message", () => {
    const rng = makeRng(0xbad_0004)
    decodeAll(
      Array.from({ length: 3_000 }, () => rng.bytes(rng.int(0, 300))),
      5_000
    )
  })

  const entryCases = (entryType: string, logs: 2 | 3) =>
    firstPerField(mistypedFields(ours.lookupType(entryType))).map((c) => [c.where, logs, c] as const)

  it.each([...entryCases("envoy.data.accesslog.v3.HTTPAccessLogEntry", 2), ...entryCases("envoy.data.accesslog.v3.TCPAccessLogEntry", 3)])(
    "entry field %s with a wrong wire type: that entry alone rejected, naming it",
    (_, logs, c) => {
      for (const bytes of c.variants) {
        const reason = expectOnlyEntryAffected(bytes, logs)
        expect(reason).toMatch(/wire type \d, expected \d/)
        // The reason names the field, or the message for ResponseFlags' 27 booleans (all read alike).
        expect(
          [c.field, c.message].some((name) => reason!.includes(name)),
          reason
        ).toBe(true)
      }
    }
  )

  it.each(
    firstPerField(mistypedFields(ours.lookupType("envoy.service.accesslog.v3.StreamAccessLogsMessage.Identifier"))).map(
      (c) => [c.where, c] as const
    )
  )("identifier field %s with a wrong wire type: the message fails with a WireError naming it", (_, c) => {
    for (const bytes of c.variants) {
      const outcome = decode(concat(lenField(1, bytes), withEntries(GOOD.slice(0, 1))))
      expect(outcome).toBeInstanceOf(WireError)
      expect((outcome as WireError).message).toMatch(new RegExp(`(${c.field}|${c.message}).*: wire type \\d, expected \\d$`))
    }
  })

  it("huge and overlong lengths: the entry when inside it, the message when in the envelope", () => {
    const huge = concat(tag(15, LEN), varint(2n ** 62n), Uint8Array.of(1, 2, 3)) // upstream_cluster
    expect(expectOnlyEntryAffected(lenField(1, huge))).toBe(`length ${2 ** 62} runs past the end of its message`)
    expect(expectOnlyEntryAffected(concat(tag(2, VARINT), new Uint8Array(10).fill(0xff), Uint8Array.of(1)))).toBe(
      "varint longer than 10 bytes"
    )
    // A log_entry whose length runs past http_logs: the entries after it cannot be found, so the message fails.
    const envelope = lenField(2, concat(lenField(1, GOOD[0]), tag(1, LEN), varint(2 ** 32), GOOD[1]))
    expect(decode(envelope)).toEqual(new WireError(`length ${2 ** 32} runs past the end of its message`))
    expect(decode(concat(tag(2, LEN), varint(2n ** 64n - 1n)))).toBeInstanceOf(WireError)
  })

  it("groups, reserved wire types and invalid UTF-8 inside an entry reject that entry", () => {
    for (const wt of [START_GROUP, 4, 6, 7]) {
      expect(expectOnlyEntryAffected(concat(GOOD[0], tag(99, wt)))).toBe(`unsupported wire type ${wt}`)
    }
    const invalidUtf8 = lenField(1, concat(tag(15, LEN), varint(3), Uint8Array.of(0x61, 0xc3, 0x28)))
    expect(expectOnlyEntryAffected(invalidUtf8)).toBe("string is not valid UTF-8")
    // A TCP entry amid TCP entries, too.
    const tcp = TcpEntry.encode(TcpEntry.fromObject({ connectionProperties: { receivedBytes: 5 } })).finish()
    const outcome = decodeAlsMessage(withEntries([tcp, concat(tcp, tag(3, 7)), tcp], 3))
    expect(outcome.rejected).toEqual([{ index: 1, reason: "unsupported wire type 7" }])
    expect(outcome.entries.map((e) => (e.kind === "tcp" ? e.receivedBytes : -1))).toEqual([5, 5])
  })

  it("without log detail, a field only error logs read is skipped unchecked: bad UTF-8 there rejects nothing, a wrong wire type still does", () => {
    const withoutLogDetail = alsDecoder({ logDetail: false, addresses: true, filterState: true })
    const notUtf8 = Uint8Array.of(0x61, 0xc3, 0x28)
    const badText = [
      lenField(3, concat(tag(9, LEN), varint(3), notUtf8)), // request.request_id
      lenField(3, concat(tag(6, LEN), varint(3), notUtf8)), // request.user_agent
      lenField(4, concat(tag(6, LEN), varint(3), notUtf8)) // response.response_code_details
    ]
    const lean = withoutLogDetail(withEntries([GOOD[0]])).entries[0]
    for (const field of badText) {
      const bytes = withEntries([concat(GOOD[0], field), GOOD[1]])
      expect(decodeAlsMessage(bytes).rejected).toEqual([{ index: 0, reason: "string is not valid UTF-8" }])
      const skipped = withoutLogDetail(bytes)
      expect(skipped.rejected).toEqual([])
      expect(skipped.entries[0]).toEqual(lean)
    }
    const mistyped = withoutLogDetail(withEntries([concat(GOOD[0], lenField(3, varintField(9, 1))), GOOD[1]]))
    expect(mistyped.rejected).toEqual([{ index: 0, reason: "HTTPRequestProperties.request_id: wire type 0, expected 2" }])
    expect(mistyped.entries).toHaveLength(1)
    const overlong = withoutLogDetail(withEntries([concat(GOOD[0], lenField(3, concat(tag(9, LEN), varint(99)))), GOOD[1]]))
    expect(overlong.rejected).toEqual([{ index: 0, reason: "length 99 runs past the end of its message" }])
  })

  it("without addresses, an address is skipped unchecked inside: a bad one rejects nothing, a wrong wire type or length still does", () => {
    const lean = alsDecoder({ logDetail: false, addresses: false, filterState: true })
    const notUtf8 = Uint8Array.of(0x31, 0xc3, 0x28)
    // HTTPAccessLogEntry.common_properties (1) → AccessLogCommon.downstream_remote_address (2) → Address, and the
    // upstream cluster (15) to tell the entry by.
    const entryWith = (address: Uint8Array) => lenField(1, concat(address, stringField(15, "outbound|9080||reviews")))
    const badInside = [
      lenField(2, lenField(1, concat(tag(2, LEN), varint(3), notUtf8))), // SocketAddress.address not UTF-8
      lenField(2, varintField(1, 5)) // Address.socket_address as a varint
    ]
    for (const address of badInside) {
      const bytes = withEntries([entryWith(address), GOOD[1]])
      expect(decodeAlsMessage(bytes).rejected).toHaveLength(1)
      expect(alsDecoder({ logDetail: false, addresses: true, filterState: true })(bytes).rejected).toHaveLength(1)
      const skipped = lean(bytes)
      expect(skipped.rejected).toEqual([])
      expect(skipped.entries[0].common.upstreamCluster).toBe("outbound|9080||reviews")
      expect(skipped.entries[0].common.downstreamRemoteAddress).toBeUndefined()
    }
    const mistyped = lean(withEntries([entryWith(varintField(2, 7)), GOOD[1]]))
    expect(mistyped.rejected).toEqual([{ index: 0, reason: "AccessLogCommon.downstream_remote_address: wire type 0, expected 2" }])
    const overlong = lean(withEntries([lenField(1, concat(tag(13, LEN), varint(99))), GOOD[1]]))
    expect(overlong.rejected).toEqual([{ index: 0, reason: "length 99 runs past the end of its message" }])
    expect(overlong.entries).toHaveLength(1)
  })

  it("without filter state, its objects are skipped unchecked inside: a bad key rejects nothing, a wrong wire type still does", () => {
    const withoutState = alsDecoder({ logDetail: true, addresses: true, filterState: false })
    // AccessLogCommon.filter_state_objects (21): a map entry whose key (1) is not UTF-8, and the cluster to tell it by.
    const entryWith = (state: Uint8Array) => lenField(1, concat(state, stringField(15, "outbound|9080||reviews")))
    const bytes = withEntries([entryWith(lenField(21, concat(tag(1, LEN), varint(2), Uint8Array.of(0xc3, 0x28)))), GOOD[1]])
    expect(decodeAlsMessage(bytes).rejected).toEqual([{ index: 0, reason: "string is not valid UTF-8" }])
    const skipped = withoutState(bytes)
    expect(skipped.rejected).toEqual([])
    expect(skipped.entries[0].common.upstreamCluster).toBe("outbound|9080||reviews")
    expect(skipped.entries[0].common.filterState).toEqual([])
    const mistyped = withoutState(withEntries([entryWith(varintField(21, 1)), GOOD[1]]))
    expect(mistyped.rejected).toEqual([{ index: 0, reason: "AccessLogCommon.filter_state_objects: wire type 0, expected 2" }])
  })

  it("deeply nested Structs and lists end in a WireError, not a stack overflow", () => {
    // Value.struct_value (5) → Struct.fields (1) entry → value (2) → … and Value.list_value (6) → values (1) → …
    let struct: Uint8Array = new Uint8Array(0)
    let list: Uint8Array = new Uint8Array(0)
    for (let depth = 0; depth < 3_000; depth++) {
      struct = lenField(1, concat(stringField(1, "k"), lenField(2, lenField(5, struct))))
      list = lenField(6, lenField(1, list))
    }
    expect(() => decodeStruct(struct)).toThrow(new WireError("Struct nested too deeply"))
    const listInStruct = lenField(1, concat(stringField(1, "k"), lenField(2, list)))
    expect(() => decodeStruct(listInStruct)).toThrow(new WireError("ListValue nested too deeply"))
    // In node metadata (Node.metadata 3) the identifier is unusable: the message fails, typed.
    const identifier = lenField(1, lenField(1, lenField(3, struct)))
    expect(decode(concat(identifier, withEntries(GOOD.slice(0, 1))))).toEqual(new WireError("Struct nested too deeply"))
    // The nesting Istio uses decodes fine.
    let shallow: Uint8Array = new Uint8Array(0)
    for (let depth = 0; depth < 8; depth++) shallow = lenField(1, concat(stringField(1, "k"), lenField(2, lenField(5, shallow))))
    expect(JSON.stringify(decodeStruct(shallow))).toBe(`${'{"k":'.repeat(8)}{}${"}".repeat(8)}`)
  })

  it("deeply nested unknown fields are skipped without recursion", () => {
    let nested: Uint8Array = Uint8Array.of(1)
    for (let depth = 0; depth < 5_000; depth++) nested = lenField(200, nested)
    const message = decodeAlsMessage(concat(nested, withEntries([concat(nested, GOOD[0])])))
    expect(message.entries).toEqual(decodeAlsMessage(withEntries([GOOD[0]])).entries)
  })
})
