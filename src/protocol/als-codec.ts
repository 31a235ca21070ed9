// StreamAccessLogsMessage (envoy.service.accesslog.v2 and v3 share every field number meshsight reads) → AlsMessage.
// Field numbers follow proto/envoy/service/accesslog/v3/als.proto; the entries are read by http-entry.ts and
// tcp-entry.ts (with common-properties.ts and well-known.ts).
import type { AccessLog, AlsMessage, EntryRejection, Identifier, JsonObject } from "../domain/access-log.ts"
import { Reads } from "./field-choice.ts"
import { readHttpEntry } from "./http-entry.ts"
import { readStruct } from "./struct-codec.ts"
import { readTcpEntry } from "./tcp-entry.ts"
import { expectWireType, WireError, WireReader, WireType } from "../util/wire-reader.ts"

const { Bytes } = WireType

const MessageField = { identifier: 1, httpLogs: 2, tcpLogs: 3 } as const
/** `HTTPAccessLogEntries` / `TCPAccessLogEntries`. */
const EntriesField = { logEntry: 1 } as const
const IdentifierField = { node: 1, logName: 2 } as const
const NodeField = { id: 1, cluster: 2, metadata: 3 } as const

/** Decodes one ALS message. Throws WireError when the envelope itself is malformed; bad entries are rejected one by one. */
export const decodeAlsMessage = (bytes: Uint8Array): AlsMessage => decodeMessage(bytes, Reads.all)

/** The optional groups of fields a decoder reads (src/protocol/field-choice.ts). */
export interface AlsFieldChoice {
  /** The fields only error logs read, and the two nothing reads; else left "". */
  readonly logDetail: boolean
  /** The five addresses, for analyzers that identify by IP and for error logs; else left undefined. */
  readonly addresses: boolean
  /** The filter state objects, for mx-mesh; else none. */
  readonly filterState: boolean
}

/**
 * As decodeAlsMessage, reading only the groups of fields `choice` names: for a service whose analyzers and error
 * logs read no more. A skipped field's wire type and length are still checked, its content is not: a request id
 * that is not UTF-8, or an address or filter state object whose inner fields are malformed, rejects its entry only
 * where it is read.
 */
export const alsDecoder = (choice: AlsFieldChoice): ((bytes: Uint8Array) => AlsMessage) => {
  const reads =
    (choice.logDetail ? Reads.logDetail : 0) | (choice.addresses ? Reads.addresses : 0) | (choice.filterState ? Reads.filterState : 0)
  return reads === Reads.all ? decodeAlsMessage : (bytes) => decodeMessage(bytes, reads)
}

const decodeMessage = (bytes: Uint8Array, reads: number): AlsMessage => {
  const r = new WireReader(bytes)
  let identifier: Identifier | undefined
  const entries: Array<AccessLog> = []
  const rejected: Array<EntryRejection> = []
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    switch (tag >>> 3) {
      case MessageField.identifier:
        expectWireType(wt, Bytes, "StreamAccessLogsMessage.identifier")
        identifier = readIdentifier(r.sub())
        break
      case MessageField.httpLogs:
        expectWireType(wt, Bytes, "StreamAccessLogsMessage.http_logs")
        readEntries(r.sub(), readHttpEntry, reads, entries, rejected)
        break
      case MessageField.tcpLogs:
        expectWireType(wt, Bytes, "StreamAccessLogsMessage.tcp_logs")
        readEntries(r.sub(), readTcpEntry, reads, entries, rejected)
        break
      default:
        r.skip(wt)
    }
  }
  return { identifier, entries, rejected }
}

/** `HTTPAccessLogEntries` / `TCPAccessLogEntries`: their repeated `log_entry`. */
const readEntries = (
  r: WireReader,
  readEntry: (r: WireReader, reads: number) => AccessLog,
  reads: number,
  out: Array<AccessLog>,
  rejected: Array<EntryRejection>
): void => {
  let index = 0
  while (r.pos < r.end) {
    const tag = r.varint()
    if (tag >>> 3 !== EntriesField.logEntry) {
      r.skip(tag & 7)
      continue
    }
    expectWireType(tag & 7, Bytes, "log_entry")
    // The entry's own length is checked against the envelope here; a failure inside it only rejects the entry.
    const entry = r.sub()
    try {
      out.push(readEntry(entry, reads))
    } catch (e) {
      if (!(e instanceof WireError)) throw e
      rejected.push({ index, reason: e.message })
    }
    index++
  }
}

const readIdentifier = (r: WireReader): Identifier => {
  let node = { id: "", cluster: "", metadata: {} as JsonObject }
  let logName = ""
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    switch (tag >>> 3) {
      case IdentifierField.node:
        expectWireType(wt, Bytes, "Identifier.node")
        node = readNode(r.sub())
        break
      case IdentifierField.logName:
        expectWireType(wt, Bytes, "Identifier.log_name")
        logName = r.string()
        break
      default:
        r.skip(wt)
    }
  }
  return { node, logName }
}

/** envoy.config.core.v3.Node: id, cluster and metadata (a Struct). Also read by the MetricsService codec. */
export const readNode = (r: WireReader): Identifier["node"] => {
  let id = ""
  let cluster = ""
  let metadata: JsonObject = {}
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    switch (tag >>> 3) {
      case NodeField.id:
        expectWireType(wt, Bytes, "Node.id")
        id = r.string()
        break
      case NodeField.cluster:
        expectWireType(wt, Bytes, "Node.cluster")
        cluster = r.string()
        break
      case NodeField.metadata:
        expectWireType(wt, Bytes, "Node.metadata")
        metadata = readStruct(r.sub())
        break
      default:
        r.skip(wt)
    }
  }
  return { id, cluster, metadata }
}
