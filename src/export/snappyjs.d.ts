// snappyjs 0.7 ships no types: the two functions meshsight uses (Snappy block format).
declare module "snappyjs" {
  export function compress(input: Uint8Array): Uint8Array
  export function uncompress(input: Uint8Array, maxLength?: number): Uint8Array
}
