// A Snappy block-format decoder for tests (format_description.txt): checks meshsight's compressor byte-exactly.
export const snappyDecode = (input: Uint8Array): Uint8Array => {
  let ip = 0
  let length = 0
  for (let shift = 0; ; shift += 7) {
    const b = input[ip++]
    length += (b & 0x7f) * 2 ** shift
    if (b < 0x80) break
  }
  const out = new Uint8Array(length)
  let op = 0
  while (ip < input.length) {
    const tag = input[ip++]
    const kind = tag & 3
    if (kind === 0) {
      let n = tag >>> 2
      if (n >= 60) {
        const bytes = n - 59
        n = 0
        for (let i = 0; i < bytes; i++) n += input[ip++] * 2 ** (8 * i)
      }
      n += 1
      out.set(input.subarray(ip, ip + n), op)
      ip += n
      op += n
      continue
    }
    let len: number
    let offset: number
    if (kind === 1) {
      len = ((tag >>> 2) & 7) + 4
      offset = ((tag >>> 5) << 8) | input[ip++]
    } else if (kind === 2) {
      len = (tag >>> 2) + 1
      offset = input[ip] | (input[ip + 1] << 8)
      ip += 2
    } else {
      len = (tag >>> 2) + 1
      offset = input[ip] | (input[ip + 1] << 8) | (input[ip + 2] << 16) | (input[ip + 3] << 24)
      ip += 4
    }
    if (offset === 0 || offset > op) throw new Error(`bad offset ${offset} at output ${op}`)
    for (let i = 0; i < len; i++, op++) out[op] = out[op - offset]
  }
  if (op !== length) throw new Error(`decoded ${op} bytes, header says ${length}`)
  return out
}
