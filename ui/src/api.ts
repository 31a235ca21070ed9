// meshsight's own JSON API (src/http/api-routes.ts), typed with the server's response shapes.
import type { EndpointList, InstanceList, InstanceTopology, Series, Status, Topology } from "../../src/query/api-model.ts"

export type { Edge, InstanceTopology, MetricSummary, NamedMetrics, Series, ServiceItem, Status, Topology } from "../../src/query/api-model.ts"

/** unreachable: no answer or a server error; not-found: an unknown service; bad-request: a rejected parameter. */
export class ApiError extends Error {
  readonly kind: "unreachable" | "not-found" | "bad-request"
  constructor(kind: ApiError["kind"], message: string) {
    super(message)
    this.kind = kind
  }
}

/** The last `minutes` minutes up to now, the current minute included (the server snaps to whole minutes). */
export const rangeQuery = (minutes: number) => `start=${Date.now() - (minutes - 1) * 60_000}`

const getJson = async <T>(path: string): Promise<T> => {
  let response: Response
  try {
    response = await fetch(path, { cache: "no-store", headers: { accept: "application/json" } })
  } catch {
    throw new ApiError("unreachable", "meshsight's API cannot be reached")
  }
  const body = await response.json().catch(() => undefined) as { error?: string } | undefined
  if (response.status === 404) throw new ApiError("not-found", body?.error ?? "not found")
  if (response.status === 400) throw new ApiError("bad-request", body?.error ?? "bad request")
  if (!response.ok || body === undefined) throw new ApiError("unreachable", `meshsight's API answered ${response.status}`)
  return body as T
}

const svc = (service: string) => `/api/services/${encodeURIComponent(service)}`
const q = (params: Record<string, string>) => new URLSearchParams(params).toString()

export const api = {
  status: () => getJson<Status>("/api/status"),
  topology: (minutes: number) => getJson<Topology>(`/api/topology?${rangeQuery(minutes)}`),
  instanceTopology: (minutes: number) => getJson<InstanceTopology>(`/api/instance-topology?${rangeQuery(minutes)}`),
  serviceTopology: (service: string, minutes: number) => getJson<Topology>(`${svc(service)}/topology?${rangeQuery(minutes)}`),
  instances: (service: string, minutes: number) => getJson<InstanceList>(`${svc(service)}/instances?${rangeQuery(minutes)}`),
  endpoints: (service: string, minutes: number) => getJson<EndpointList>(`${svc(service)}/endpoints?${rangeQuery(minutes)}`),
  serviceSeries: (service: string, minutes: number) =>
    getJson<Series>(`/api/series?${q({ scope: "service", service })}&${rangeQuery(minutes)}`),
  instanceSeries: (service: string, instance: string, minutes: number) =>
    getJson<Series>(`/api/series?${q({ scope: "instance", service, instance })}&${rangeQuery(minutes)}`),
  relationSeries: (source: string, target: string, detectPoint: "client" | "server", minutes: number) =>
    getJson<Series>(`/api/series?${q({ scope: "serviceRelation", source, target, detectPoint })}&${rangeQuery(minutes)}`)
}
