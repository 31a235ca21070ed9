// Names of envoy.data.accesslog.v3.ResponseFlags' boolean fields, indexed by field number − 1. Field 13 is the
// `unauthorized_details` message; Envoy sets it when the external authorization service denied the request.
export const RESPONSE_FLAG_NAMES: ReadonlyArray<string> = [
  "failed_local_healthcheck",
  "no_healthy_upstream",
  "upstream_request_timeout",
  "local_reset",
  "upstream_remote_reset",
  "upstream_connection_failure",
  "upstream_connection_termination",
  "upstream_overflow",
  "no_route_found",
  "delay_injected",
  "fault_injected",
  "rate_limited",
  "unauthorized_external_service",
  "rate_limit_service_error",
  "downstream_connection_termination",
  "upstream_retry_limit_exceeded",
  "stream_idle_timeout",
  "invalid_envoy_request_headers",
  "downstream_protocol_error",
  "upstream_max_stream_duration_reached",
  "response_from_cache_filter",
  "no_filter_config_found",
  "duration_timeout",
  "upstream_protocol_error",
  "no_cluster_found",
  "overload_manager",
  "dns_resolution_failure",
  "downstream_remote_reset"
]

/**
 * Envoy's short codes for the same flags (`%RESPONSE_FLAGS%` in its access log format, Istio's `response_flags`
 * label), in the same order.
 */
export const RESPONSE_FLAG_CODES: ReadonlyArray<string> = [
  "LH",
  "UH",
  "UT",
  "LR",
  "UR",
  "UF",
  "UC",
  "UO",
  "NR",
  "DI",
  "FI",
  "RL",
  "UAEX",
  "RLSE",
  "DC",
  "URX",
  "SI",
  "IH",
  "DPE",
  "UMSDR",
  "RFCF",
  "NFCF",
  "DT",
  "UPE",
  "NC",
  "OM",
  "DF",
  "DR"
]

/** The first set flag, as SkyWalking's "internal error code"; "" when none is set. */
export const firstResponseFlag = (mask: number): string => {
  if (mask === 0) return ""
  for (let i = 0; i < RESPONSE_FLAG_NAMES.length; i++) {
    if (mask & (1 << i)) return RESPONSE_FLAG_NAMES[i]
  }
  return ""
}
