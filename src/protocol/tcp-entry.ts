// TCPAccessLogEntry and its ConnectionProperties (proto/envoy/data/accesslog/v3/accesslog.proto).
import type { AccessLogCommon, TcpAccessLog } from "../domain/access-log.ts"
import { emptyCommon, readCommon } from "./common-properties.ts"
import { expectWireType, type WireReader, WireType } from "../util/wire-reader.ts"

const { Varint, Bytes } = WireType

const TcpEntryField = { commonProperties: 1, connectionProperties: 2 } as const
const ConnectionField = { receivedBytes: 1, sentBytes: 2 } as const

/**
 * TCPAccessLogEntry: its common properties and the connection's received and sent bytes; `reads` as for
 * readHttpEntry (only the common properties have fields to skip).
 */
export const readTcpEntry = (r: WireReader, reads: number): TcpAccessLog => {
  let common: AccessLogCommon | undefined
  let receivedBytes = 0
  let sentBytes = 0
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    switch (tag >>> 3) {
      case TcpEntryField.commonProperties:
        expectWireType(wt, Bytes, "TCPAccessLogEntry.common_properties")
        common = readCommon(r.sub(), reads)
        break
      case TcpEntryField.connectionProperties: {
        expectWireType(wt, Bytes, "TCPAccessLogEntry.connection_properties")
        const c = r.sub()
        while (c.pos < c.end) {
          const t = c.varint()
          const f = t >>> 3
          if (f === ConnectionField.receivedBytes || f === ConnectionField.sentBytes) {
            expectWireType(
              t & 7,
              Varint,
              f === ConnectionField.receivedBytes ? "ConnectionProperties.received_bytes" : "ConnectionProperties.sent_bytes"
            )
            if (f === ConnectionField.receivedBytes) receivedBytes = c.varint()
            else sentBytes = c.varint()
          } else c.skip(t & 7)
        }
        break
      }
      default:
        r.skip(wt)
    }
  }
  return { kind: "tcp", common: common ?? emptyCommon(), receivedBytes, sentBytes }
}
