// IP addresses and CIDR prefixes (IPv4 and IPv6) as bytes, for the few prefixes Istio ServiceEntries declare.
import { isIPv4, isIPv6 } from "node:net"

/** 4 bytes for IPv4, 16 for IPv6. */
export type IpBytes = Uint8Array

export interface IpPrefix {
  readonly bytes: IpBytes
  readonly bits: number
}

const ipv4Bytes = (text: string): IpBytes => Uint8Array.from(text.split(".").map(Number))

const ipv6Bytes = (text: string): IpBytes => {
  const [head, tail] = text.split("::")
  const words = (part: string | undefined): Array<number> => {
    if (part === undefined || part === "") return []
    return part.split(":").flatMap((group) => {
      if (!group.includes(".")) return [Number.parseInt(group, 16)]
      const [a, b, c, d] = ipv4Bytes(group) // an embedded IPv4 tail (::ffff:10.0.0.1)
      return [(a << 8) | b, (c << 8) | d]
    })
  }
  const front = words(head)
  const back = words(tail)
  const all = [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back]
  const out = new Uint8Array(16)
  all.forEach((w, i) => {
    out[2 * i] = w >> 8
    out[2 * i + 1] = w & 0xff
  })
  return out
}

/** The address's bytes; undefined when it is not an IP address (a host name, say). A zone (`%eth0`) is dropped. */
export const parseIp = (text: string): IpBytes | undefined => {
  if (isIPv4(text)) return ipv4Bytes(text)
  const address = text.split("%")[0]
  return isIPv6(address) ? ipv6Bytes(address) : undefined
}

/** `10.0.0.0/8`, `fd00::/64`; undefined when not a CIDR. */
export const parsePrefix = (text: string): IpPrefix | undefined => {
  const slash = text.indexOf("/")
  if (slash < 0) return undefined
  const bytes = parseIp(text.slice(0, slash))
  const bitsText = text.slice(slash + 1)
  const bits = Number(bitsText)
  if (bytes === undefined || !/^\d{1,3}$/.test(bitsText) || bits > bytes.length * 8) return undefined
  return { bytes, bits }
}

export const inPrefix = (ip: IpBytes, prefix: IpPrefix): boolean => {
  if (ip.length !== prefix.bytes.length) return false
  const whole = prefix.bits >> 3
  for (let i = 0; i < whole; i++) if (ip[i] !== prefix.bytes[i]) return false
  const rest = prefix.bits & 7
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return (ip[whole] & mask) === (prefix.bytes[whole] & mask)
}

/**
 * The form Envoy and the API server print (RFC 5952 for IPv6: lowercase, longest zero run as `::`), so that a
 * ServiceEntry's `fd00:0:0::1` and a log's `fd00::1` meet in one map key. Non-IPs come back as they are.
 */
export const canonicalIp = (text: string): string => (isIPv6(text) ? new URL(`http://[${text}]`).hostname.slice(1, -1) : text)
