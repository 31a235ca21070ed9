// A small reader of Prometheus text exposition for assertions: samples with their labels unescaped.
export interface Sample {
  readonly name: string
  readonly labels: Record<string, string>
  readonly value: number
}

const unescape = (v: string) => v.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c))

export const parseExposition = (text: string): Array<Sample> =>
  text
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((line) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
      if (m === null) throw new Error(`not a sample line: ${line}`)
      const labels: Record<string, string> = {}
      for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = unescape(l[2])
      return { name: m[1], labels, value: Number(m[3]) }
    })

/** The samples of `name` whose labels include `match`. */
export const samplesOf = (samples: ReadonlyArray<Sample>, name: string, match: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))

export const sumOf = (samples: ReadonlyArray<Sample>, name: string, match: Record<string, string> = {}) =>
  samplesOf(samples, name, match).reduce((n, s) => n + s.value, 0)
