// Loads the captured Envoy ALS messages in test/testdata/skywalking (proto3 JSON with `#` license lines on top;
// test/testdata/README.md says where they come from).
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { encodeAlsMessageJson } from "../../sim/envoy-protos.ts"

export const FIXTURE_DIR = fileURLToPath(new URL("../testdata/skywalking/", import.meta.url))

/**
 * The first JSON value in the text. envoy-mesh-client-sidecar.msg ends with one closing brace too many, as
 * SkyWalking keeps it; a reader that stops at the end of the first value takes it as Envoy sent it.
 */
const firstJsonValue = (text: string): unknown => {
  let depth = 0
  let inString = false
  const start = text.indexOf("{")
  for (let i = start; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === "\\") i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === "{" || c === "[") depth++
    else if (c === "}" || c === "]") {
      depth--
      if (depth === 0) return JSON.parse(text.slice(start, i + 1))
    }
  }
  throw new Error("no complete JSON value")
}

export const fixtureJson = (name: string): Record<string, unknown> => {
  const text = readFileSync(`${FIXTURE_DIR}${name}.msg`, "utf8")
    .split("\n")
    .filter((line) => !line.startsWith("#"))
    .join("\n")
  return firstJsonValue(text) as Record<string, unknown>
}

/** The fixture as the binary protobuf Envoy would send. */
export const fixtureBytes = (name: string): Uint8Array => encodeAlsMessageJson(fixtureJson(name))

export const ALS_FIXTURES = ["envoy-ingress", "envoy-mesh-client-sidecar", "envoy-mesh-server-sidecar"] as const
