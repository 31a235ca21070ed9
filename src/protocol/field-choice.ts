// Which of the optional groups of fields an ALS decode reads: bit flags, one small integer threaded through the
// readers. A group not read is still checked for its wire type and length, and left "" or undefined.

/**
 * `logDetail`: the fields only error logs read (user agent, request id, trace headers, response code details, the
 * time to the request's last byte) and three that nothing reads (the request's scheme, a filter-state object's type
 * URL, the time to the last byte sent upstream). `addresses`: the entry's five
 * addresses, read by analyzers that identify workloads by IP (k8s-mesh) and by error logs, not by mx-mesh, the
 * analysis or the exports. `filterState`: the filter state objects, read by mx-mesh alone (Istio's peer metadata).
 */
export const Reads = { logDetail: 1, addresses: 2, filterState: 4, all: 7 } as const
