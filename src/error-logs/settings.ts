// The error logs' settings (the `persistence` analyzer, src/error-logs/).
import { Int, setting, Trimmed } from "../util/setting.ts"

export const errorLogRatePerMinute = setting({
  names: ["MESHSIGHT_ERROR_LOG_RATE_PER_MINUTE"],
  schema: Int(1, 10_000_000),
  expected: "a positive whole number",
  default: 6000
})
export const errorLogsPerService = setting({
  names: ["MESHSIGHT_ERROR_LOGS_PER_SERVICE"],
  schema: Int(1, 1_000_000),
  expected: "a positive whole number",
  default: 1000
})
export const errorLogsMax = setting({
  names: ["MESHSIGHT_ERROR_LOGS_MAX"],
  schema: Int(1, 10_000_000),
  expected: "a positive whole number",
  default: 10_000
})
export const logsPostgresUrl = setting({
  names: ["MESHSIGHT_LOGS_POSTGRES_URL"],
  schema: Trimmed,
  expected: "a postgres:// or postgresql:// URL",
  default: "",
  validate: (url) => (url === "" || /^postgres(ql)?:\/\/./.test(url) ? undefined : "not a PostgreSQL URL")
})
export const logsRetentionHours = setting({
  names: ["MESHSIGHT_LOGS_RETENTION_HOURS"],
  schema: Int(1, 24 * 365),
  expected: "whole hours from 1 to 8760",
  default: 72
})
