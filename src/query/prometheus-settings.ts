// Where storage mode `prometheus` reads from: anything that serves Prometheus' HTTP query API
// (/api/v1/query, /api/v1/query_range): Prometheus, Thanos Query, Mimir, VictoriaMetrics.
import { Schema } from "effect"
import { badHeaderName, headerMap } from "../export/settings.ts"
import { Int, setting, Trimmed } from "../util/setting.ts"

export const prometheusUrl = setting({
  names: ["MESHSIGHT_PROMETHEUS_URL"],
  schema: Schema.Trim.check(Schema.isPattern(/^(https?:\/\/[^\s]+)?$/)),
  expected: "an http:// or https:// URL (the base under which /api/v1/query is served)",
  default: ""
})
export const prometheusTimeoutMs = setting({
  names: ["MESHSIGHT_PROMETHEUS_TIMEOUT_MS"],
  schema: Int(100, 600_000),
  expected: "milliseconds from 100 to 600000",
  default: 10_000
})
export const prometheusBearerToken = setting({
  names: ["MESHSIGHT_PROMETHEUS_BEARER_TOKEN"],
  schema: Trimmed,
  expected: "a token",
  default: ""
})
export const prometheusUsername = setting({
  names: ["MESHSIGHT_PROMETHEUS_USERNAME"],
  schema: Trimmed,
  expected: "a user name",
  default: ""
})
export const prometheusPassword = setting({
  names: ["MESHSIGHT_PROMETHEUS_PASSWORD"],
  schema: Schema.String,
  expected: "a password",
  default: ""
})
export const prometheusHeaders = setting({
  names: ["MESHSIGHT_PROMETHEUS_HEADERS"],
  schema: headerMap,
  expected: "comma-separated Header-Name=value pairs (e.g. X-Scope-OrgID=tenant for Mimir)",
  default: {} as Readonly<Record<string, string>>,
  validate: badHeaderName
})
