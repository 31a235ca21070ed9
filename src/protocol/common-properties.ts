// AccessLogCommon and the messages it holds (proto/envoy/data/accesslog/v3/accesslog.proto, envoy/config/core/v3/
// address.proto): addresses, TLS certificates, timings, ResponseFlags and filter state.
import type { Types } from "effect"
import type { AccessLogCommon, Address, FilterStateObject, TlsInfo } from "../domain/access-log.ts"
import { Reads } from "./field-choice.ts"
import { readSecondsNanos } from "./well-known.ts"
import { expectWireType, WireReader, WireType } from "../util/wire-reader.ts"

const { Varint, Bytes } = WireType

/** Every protobuf `map<K, V>` entry is a message of the same two fields, whatever K and V. */
export const MapEntryField = { key: 1, value: 2 } as const

const CommonField = {
  downstreamRemoteAddress: 2,
  downstreamLocalAddress: 3,
  tlsProperties: 4,
  startTime: 5,
  timeToLastRxByte: 6,
  timeToFirstUpstreamTxByte: 7,
  timeToLastUpstreamTxByte: 8,
  timeToFirstUpstreamRxByte: 9,
  timeToLastUpstreamRxByte: 10,
  timeToFirstDownstreamTxByte: 11,
  timeToLastDownstreamTxByte: 12,
  upstreamRemoteAddress: 13,
  upstreamLocalAddress: 14,
  upstreamCluster: 15,
  responseFlags: 16,
  downstreamDirectRemoteAddress: 20,
  filterStateObjects: 21
} as const
const AddressField = { socketAddress: 1, envoyInternalAddress: 3 } as const
const SocketAddressField = { address: 2, portValue: 3 } as const
const InternalAddressField = { serverListenerName: 1, endpointId: 2 } as const
/** ResponseFlags' fields are bools, but for the one message, unauthorized_details. */
const ResponseFlagsField = { first: 1, unauthorizedDetails: 13, last: 28 } as const
const TlsField = { localCertificateProperties: 4, peerCertificateProperties: 5 } as const
const CertificateField = { subjectAltName: 1, subject: 2 } as const
const SubjectAltNameField = { uri: 1 } as const
/** google.protobuf.Any. */
const AnyField = { typeUrl: 1, value: 2 } as const

export const emptyCommon = (): AccessLogCommon => readCommon(new WireReader(new Uint8Array(0)), Reads.all)

/**
 * AccessLogCommon, the fields listed in proto/envoy/data/accesslog/v3/accesslog.proto; `reads` (Reads flags) says
 * which optional groups are read: the addresses, the filter state objects, and of the log detail the filter state
 * type URLs and two durations.
 */
export const readCommon = (r: WireReader, reads: number): AccessLogCommon => {
  const addresses = (reads & Reads.addresses) !== 0
  const filterState = (reads & Reads.filterState) !== 0
  const logDetail = (reads & Reads.logDetail) !== 0
  let downstreamRemoteAddress: Address | undefined
  let downstreamLocalAddress: Address | undefined
  let downstreamDirectRemoteAddress: Address | undefined
  let upstreamRemoteAddress: Address | undefined
  let upstreamLocalAddress: Address | undefined
  let upstreamCluster = ""
  let startTimeMs = 0
  let timeToLastRxByteNs: number | undefined
  let timeToFirstUpstreamTxByteNs: number | undefined
  let timeToLastUpstreamTxByteNs: number | undefined
  let timeToFirstUpstreamRxByteNs: number | undefined
  let timeToLastUpstreamRxByteNs: number | undefined
  let timeToFirstDownstreamTxByteNs: number | undefined
  let timeToLastDownstreamTxByteNs: number | undefined
  let responseFlags = 0
  let tls: TlsInfo | undefined
  // Istio logs one or two filter state objects (the peers' metadata): those are held apart and put in an array of
  // their exact size at the end. Growing an empty array by `push` allocates room for 17.
  let firstState: FilterStateObject | undefined
  let secondState: FilterStateObject | undefined
  let moreState: Array<FilterStateObject> | undefined
  while (r.pos < r.end) {
    const tag = r.varint()
    const wt = tag & 7
    const field = tag >>> 3
    switch (field) {
      case CommonField.downstreamRemoteAddress:
        expectWireType(wt, Bytes, "AccessLogCommon.downstream_remote_address")
        if (addresses) downstreamRemoteAddress = readAddress(r.sub())
        else r.skip(wt)
        break
      case CommonField.downstreamLocalAddress:
        expectWireType(wt, Bytes, "AccessLogCommon.downstream_local_address")
        if (addresses) downstreamLocalAddress = readAddress(r.sub())
        else r.skip(wt)
        break
      case CommonField.tlsProperties:
        expectWireType(wt, Bytes, "AccessLogCommon.tls_properties")
        tls = readTls(r.sub())
        break
      case CommonField.startTime: {
        expectWireType(wt, Bytes, "AccessLogCommon.start_time")
        startTimeMs = readSecondsNanos(r, "start_time") / 1e6
        break
      }
      case CommonField.timeToLastRxByte:
        expectWireType(wt, Bytes, "AccessLogCommon.time_to_last_rx_byte")
        if (logDetail) timeToLastRxByteNs = readSecondsNanos(r, "time_to_last_rx_byte")
        else r.skip(wt)
        break
      case CommonField.timeToFirstUpstreamTxByte:
        expectWireType(wt, Bytes, "AccessLogCommon.time_to_first_upstream_tx_byte")
        timeToFirstUpstreamTxByteNs = readSecondsNanos(r, "time_to_first_upstream_tx_byte")
        break
      case CommonField.timeToLastUpstreamTxByte:
        expectWireType(wt, Bytes, "AccessLogCommon.time_to_last_upstream_tx_byte")
        if (logDetail) timeToLastUpstreamTxByteNs = readSecondsNanos(r, "time_to_last_upstream_tx_byte")
        else r.skip(wt)
        break
      case CommonField.timeToFirstUpstreamRxByte:
        expectWireType(wt, Bytes, "AccessLogCommon.time_to_first_upstream_rx_byte")
        timeToFirstUpstreamRxByteNs = readSecondsNanos(r, "time_to_first_upstream_rx_byte")
        break
      case CommonField.timeToLastUpstreamRxByte:
        expectWireType(wt, Bytes, "AccessLogCommon.time_to_last_upstream_rx_byte")
        timeToLastUpstreamRxByteNs = readSecondsNanos(r, "time_to_last_upstream_rx_byte")
        break
      case CommonField.timeToFirstDownstreamTxByte:
        expectWireType(wt, Bytes, "AccessLogCommon.time_to_first_downstream_tx_byte")
        timeToFirstDownstreamTxByteNs = readSecondsNanos(r, "time_to_first_downstream_tx_byte")
        break
      case CommonField.timeToLastDownstreamTxByte:
        expectWireType(wt, Bytes, "AccessLogCommon.time_to_last_downstream_tx_byte")
        timeToLastDownstreamTxByteNs = readSecondsNanos(r, "time_to_last_downstream_tx_byte")
        break
      case CommonField.upstreamRemoteAddress:
        expectWireType(wt, Bytes, "AccessLogCommon.upstream_remote_address")
        if (addresses) upstreamRemoteAddress = readAddress(r.sub())
        else r.skip(wt)
        break
      case CommonField.upstreamLocalAddress:
        expectWireType(wt, Bytes, "AccessLogCommon.upstream_local_address")
        if (addresses) upstreamLocalAddress = readAddress(r.sub())
        else r.skip(wt)
        break
      case CommonField.upstreamCluster:
        expectWireType(wt, Bytes, "AccessLogCommon.upstream_cluster")
        upstreamCluster = r.string()
        break
      case CommonField.responseFlags:
        expectWireType(wt, Bytes, "AccessLogCommon.response_flags")
        responseFlags = readResponseFlags(r.sub())
        break
      case CommonField.downstreamDirectRemoteAddress:
        expectWireType(wt, Bytes, "AccessLogCommon.downstream_direct_remote_address")
        if (addresses) downstreamDirectRemoteAddress = readAddress(r.sub())
        else r.skip(wt)
        break
      case CommonField.filterStateObjects:
        expectWireType(wt, Bytes, "AccessLogCommon.filter_state_objects")
        if (!filterState) r.skip(wt)
        else {
          const object = readFilterStateEntry(r.sub(), logDetail)
          if (firstState === undefined) firstState = object
          else if (secondState === undefined) secondState = object
          else (moreState ??= [firstState, secondState]).push(object)
        }
        break
      default:
        r.skip(wt)
    }
  }
  return {
    downstreamRemoteAddress,
    downstreamLocalAddress,
    downstreamDirectRemoteAddress,
    upstreamRemoteAddress,
    upstreamLocalAddress,
    upstreamCluster,
    startTimeMs,
    timeToLastRxByteNs,
    timeToFirstUpstreamTxByteNs,
    timeToLastUpstreamTxByteNs,
    timeToFirstUpstreamRxByteNs,
    timeToLastUpstreamRxByteNs,
    timeToFirstDownstreamTxByteNs,
    timeToLastDownstreamTxByteNs,
    responseFlags,
    tls,
    filterState:
      moreState ?? (firstState === undefined ? NO_FILTER_STATE : secondState === undefined ? [firstState] : [firstState, secondState])
  }
}

const NO_FILTER_STATE: ReadonlyArray<FilterStateObject> = []

/**
 * Address: oneof socket_address (its address and port_value) or envoy_internal_address (its server_listener_name
 * and endpoint_id); pipes are skipped.
 */
const readAddress = (r: WireReader): Address | undefined => {
  let result: Address | undefined
  while (r.pos < r.end) {
    const tag = r.varint()
    const field = tag >>> 3
    if (field === AddressField.envoyInternalAddress) {
      expectWireType(tag & 7, Bytes, "Address.envoy_internal_address")
      result = readInternalAddress(r.sub())
      continue
    }
    if (field !== AddressField.socketAddress) {
      r.skip(tag & 7)
      continue
    }
    expectWireType(tag & 7, Bytes, "Address.socket_address")
    const s = r.sub()
    let ip = ""
    let port = 0
    while (s.pos < s.end) {
      const t = s.varint()
      const f = t >>> 3
      if (f === SocketAddressField.address) {
        expectWireType(t & 7, Bytes, "SocketAddress.address")
        ip = s.string()
      } else if (f === SocketAddressField.portValue) {
        expectWireType(t & 7, Varint, "SocketAddress.port_value")
        port = s.varint()
      } else s.skip(t & 7)
    }
    result = { ip, port }
  }
  return result
}

/** As Envoy prints one (`EnvoyInternalInstance`): `envoy://SERVER_LISTENER_NAME/ENDPOINT_ID`. */
const readInternalAddress = (r: WireReader): Address => {
  let listener = ""
  let endpoint = ""
  while (r.pos < r.end) {
    const t = r.varint()
    const f = t >>> 3
    if (f === InternalAddressField.serverListenerName) {
      expectWireType(t & 7, Bytes, "EnvoyInternalAddress.server_listener_name")
      listener = r.string()
    } else if (f === InternalAddressField.endpointId) {
      expectWireType(t & 7, Bytes, "EnvoyInternalAddress.endpoint_id")
      endpoint = r.string()
    } else r.skip(t & 7)
  }
  return { ip: "", port: 0, internal: ["envoy://", listener, "/", endpoint].join("") }
}

/** ResponseFlags → a mask: a field that is set (true, or the unauthorized_details message present) sets bit (field − 1). */
const readResponseFlags = (r: WireReader): number => {
  let mask = 0
  while (r.pos < r.end) {
    const tag = r.varint()
    const f = tag >>> 3
    const wt = tag & 7
    if (f === ResponseFlagsField.unauthorizedDetails) {
      expectWireType(wt, Bytes, "ResponseFlags.unauthorized_details")
      r.skip(wt)
      mask |= 1 << (ResponseFlagsField.unauthorizedDetails - 1)
    } else if (f >= ResponseFlagsField.first && f <= ResponseFlagsField.last) {
      expectWireType(wt, Varint, "ResponseFlags")
      if (r.varint() !== 0) mask |= 1 << (f - 1)
    } else r.skip(wt)
  }
  return mask
}

/** TLSProperties: the local and the peer certificate's properties. */
const readTls = (r: WireReader): TlsInfo => {
  const tls = { localSubject: "", localUriSan: "", peerSubject: "", peerUriSan: "" }
  while (r.pos < r.end) {
    const tag = r.varint()
    const f = tag >>> 3
    if (f === TlsField.localCertificateProperties || f === TlsField.peerCertificateProperties) {
      expectWireType(tag & 7, Bytes, "TLSProperties.certificate_properties")
      readCertificate(r.sub(), tls, f === TlsField.localCertificateProperties)
    } else r.skip(tag & 7)
  }
  return tls
}

/**
 * CertificateProperties: its subject and first URI SAN (DNS SANs are skipped) into `tls`'s local or peer fields.
 * Written in place: a [subject, uri] pair per certificate was two arrays more per entry.
 */
const readCertificate = (r: WireReader, tls: Types.Mutable<TlsInfo>, local: boolean): void => {
  let subject = ""
  let uri = ""
  while (r.pos < r.end) {
    const tag = r.varint()
    const f = tag >>> 3
    if (f === CertificateField.subjectAltName) {
      expectWireType(tag & 7, Bytes, "CertificateProperties.subject_alt_name")
      const san = r.sub()
      while (san.pos < san.end) {
        const t = san.varint()
        if (t >>> 3 === SubjectAltNameField.uri && uri === "") {
          expectWireType(t & 7, Bytes, "SubjectAltName.uri")
          uri = san.string()
        } else san.skip(t & 7)
      }
    } else if (f === CertificateField.subject) {
      expectWireType(tag & 7, Bytes, "CertificateProperties.subject")
      subject = r.string()
    } else r.skip(tag & 7)
  }
  if (local) {
    tls.localSubject = subject
    tls.localUriSan = uri
  } else {
    tls.peerSubject = subject
    tls.peerUriSan = uri
  }
}

/**
 * A `filter_state_objects` entry: `map<string, google.protobuf.Any>`. The type URL is read only with `typeUrls`:
 * the analyzers tell a value's encoding by its key.
 */
const readFilterStateEntry = (r: WireReader, typeUrls: boolean): FilterStateObject => {
  let key = ""
  let typeUrl = ""
  let value: Uint8Array = EMPTY
  while (r.pos < r.end) {
    const tag = r.varint()
    const f = tag >>> 3
    if (f === MapEntryField.key) {
      expectWireType(tag & 7, Bytes, "filter_state_objects.key")
      key = r.string()
    } else if (f === MapEntryField.value) {
      expectWireType(tag & 7, Bytes, "filter_state_objects.value")
      const any = r.sub()
      while (any.pos < any.end) {
        const t = any.varint()
        const g = t >>> 3
        if (g === AnyField.typeUrl) {
          expectWireType(t & 7, Bytes, "Any.type_url")
          if (typeUrls) typeUrl = any.string()
          else any.skip(t & 7)
        } else if (g === AnyField.value) {
          expectWireType(t & 7, Bytes, "Any.value")
          value = any.bytes()
        } else any.skip(t & 7)
      }
    } else r.skip(tag & 7)
  }
  return { key, typeUrl, value }
}

const EMPTY = new Uint8Array(0)
