// Command-line numbers for the simulator's and the demo's options: a bad one ends the tool with a clear line.

/** `raw` as a non-negative number, else says what is wrong (`tool: --name …`) and exits 2. */
export const nonNegativeOption = (tool: string, name: string, raw: string): number => {
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) {
    console.error(`${tool}: --${name} must be a non-negative number, got ${JSON.stringify(raw)}`)
    process.exit(2)
  }
  return n
}
