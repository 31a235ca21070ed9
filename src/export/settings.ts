// The Istio-standard export's settings (/metrics/mesh and remote write), read by ./mesh-export.ts.
import { hostname } from "node:os"
import { Schema, SchemaGetter } from "effect"
import { Bool, Int, NonEmpty, setting, Trimmed } from "../util/setting.ts"

export const urlList = Schema.Trim.pipe(
  Schema.decodeTo(Schema.Array(Schema.String.check(Schema.isPattern(/^https?:\/\/[^\s]+$/))), {
    decode: SchemaGetter.transform((s: string) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x !== "")
    ),
    encode: SchemaGetter.transform((xs: ReadonlyArray<string>) => xs.join(","))
  })
)
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** `Name=value,Name2=value2`: extra HTTP headers. */
export const headerMap = Schema.Trim.pipe(
  Schema.decodeTo(Schema.Record(Schema.String, Schema.String), {
    decode: SchemaGetter.transform((s: string) =>
      Object.fromEntries(
        s
          .split(",")
          .filter((x) => x.trim() !== "")
          .map((pair) => {
            const eq = pair.indexOf("=")
            return eq > 0 ? [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()] : ["", ""]
          })
      )
    ),
    encode: SchemaGetter.transform((r: Readonly<Record<string, string>>) =>
      Object.entries(r)
        .map(([k, v]) => `${k}=${v}`)
        .join(",")
    )
  })
)

/** What is wrong with a header map's names, if anything. */
export const badHeaderName = (headers: Readonly<Record<string, string>>): string | undefined => {
  const bad = Object.keys(headers).find((k) => !HEADER_NAME.test(k))
  return bad === undefined ? undefined : bad === "" ? "a pair without a name" : `not a header name: ${bad}`
}

/** Authorization (basic auth wins over a bearer token) and extra headers for every request to a TSDB. */
export const authHeaders = (c: {
  readonly username: string
  readonly password: string
  readonly bearerToken: string
  readonly headers: Readonly<Record<string, string>>
}): Record<string, string> => ({
  ...(c.username !== ""
    ? { authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}` }
    : c.bearerToken !== ""
      ? { authorization: `Bearer ${c.bearerToken}` }
      : {}),
  ...c.headers
})

export const meshMetricsEnabled = setting({
  names: ["MESHSIGHT_MESH_METRICS"],
  schema: Bool,
  expected: "true or false",
  default: true
})
export const meshMetricsIdleMinutes = setting({
  names: ["MESHSIGHT_MESH_METRICS_IDLE_MINUTES"],
  schema: Int(1, 7 * 24 * 60),
  expected: "whole minutes from 1 to 10080",
  default: 10
})
export const meshMetricsMaxSeries = setting({
  names: ["MESHSIGHT_MESH_METRICS_MAX_SERIES"],
  schema: Int(1, 100_000_000),
  expected: "a positive whole number",
  default: 20_000
})
export const remoteWriteUrls = setting({
  names: ["MESHSIGHT_REMOTE_WRITE_URL"],
  schema: urlList,
  expected: "comma-separated http:// or https:// URLs",
  default: [] as ReadonlyArray<string>
})
export const remoteWriteIntervalMs = setting({
  names: ["MESHSIGHT_REMOTE_WRITE_INTERVAL_MS"],
  schema: Int(100, 3_600_000),
  expected: "milliseconds from 100 to 3600000",
  default: 15_000
})
export const remoteWriteTimeoutMs = setting({
  names: ["MESHSIGHT_REMOTE_WRITE_TIMEOUT_MS"],
  schema: Int(100, 600_000),
  expected: "milliseconds from 100 to 600000",
  default: 10_000
})
export const remoteWriteQueueSamples = setting({
  names: ["MESHSIGHT_REMOTE_WRITE_QUEUE_SAMPLES"],
  schema: Int(1, 1_000_000_000),
  expected: "a positive whole number",
  default: 10_000_000
})
export const remoteWriteUsername = setting({
  names: ["MESHSIGHT_REMOTE_WRITE_USERNAME"],
  schema: Trimmed,
  expected: "a user name",
  default: ""
})
export const remoteWritePassword = setting({
  names: ["MESHSIGHT_REMOTE_WRITE_PASSWORD"],
  schema: Schema.String,
  expected: "a password",
  default: ""
})
export const remoteWriteBearerToken = setting({
  names: ["MESHSIGHT_REMOTE_WRITE_BEARER_TOKEN"],
  schema: Trimmed,
  expected: "a token",
  default: ""
})
export const remoteWriteHeaders = setting({
  names: ["MESHSIGHT_REMOTE_WRITE_HEADERS"],
  schema: headerMap,
  expected: "comma-separated Header-Name=value pairs",
  default: {} as Readonly<Record<string, string>>,
  validate: (headers) => badHeaderName(headers)
})
export const replica = setting({ names: ["MESHSIGHT_REPLICA"], schema: NonEmpty, expected: "a non-empty name", default: hostname() })
