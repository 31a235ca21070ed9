// meshsight's own JSON API (src/http/api-routes.ts), typed with the server's response shapes.
import type { EndpointList, InstanceList, InstanceTopology, Series, Status, Topology } from "../../src/query/api-model.ts"
import type { ProxyHealthList, ProxyInstance } from "../../src/query/proxy-model.ts"

export type {
  Edge,
  InstanceTopology,
  MetricSummary,
  NamedMetrics,
  Series,
  ServiceItem,
  Status,
  Topology
} from "../../src/query/api-model.ts"
export type { ProxyCluster, ProxyHealthList, ProxyInstance, ProxyMetric } from "../../src/query/proxy-model.ts"

/**
 * unreachable: no answer or a server error; not-found: an unknown service; bad-request: a rejected parameter;
 * unauthorized: meshsight wants an API token (MESHSIGHT_API_TOKEN_FILE) and none or a wrong one was sent.
 */
export class ApiError extends Error {
  readonly kind: "unreachable" | "not-found" | "bad-request" | "unauthorized"
  constructor(kind: ApiError["kind"], message: string) {
    super(message)
    this.kind = kind
  }
}

/** The last `minutes` minutes up to now, the current minute included (the server snaps to whole minutes). */
export const rangeQuery = (minutes: number) => `start=${Date.now() - (minutes - 1) * 60_000}`

// The API token lives in sessionStorage: it stays for the tab's life (reloads included) and goes with the tab, and
// only this origin's scripts can read it (the Content-Security-Policy admits no others).
const TOKEN_KEY = "meshsight.apiToken"

export const apiToken = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token.trim()),
  clear: () => sessionStorage.removeItem(TOKEN_KEY)
}

const getJson = async <T>(path: string): Promise<T> => {
  let response: Response
  const token = apiToken.get()
  const headers: Record<string, string> = { accept: "application/json" }
  if (token !== null) headers.authorization = `Bearer ${token}`
  try {
    response = await fetch(path, { cache: "no-store", headers })
  } catch {
    throw new ApiError("unreachable", "meshsight's API cannot be reached")
  }
  if (response.status === 401) {
    apiToken.clear()
    throw new ApiError("unauthorized", token === null ? "meshsight asks for an API token" : "the API token was not accepted")
  }
  const body = (await response.json().catch(() => undefined)) as { error?: string } | undefined
  if (response.status === 404) throw new ApiError("not-found", body?.error ?? "not found")
  if (response.status === 400) throw new ApiError("bad-request", body?.error ?? "bad request")
  if (!response.ok || body === undefined) throw new ApiError("unreachable", `meshsight's API answered ${response.status}`)
  return body as T
}

/** Every page of a list (the API pages lists: `nextCursor`), the same range for each; items concatenated by `join`. */
const getAllPages = async <T extends { readonly nextCursor: string | null }>(path: string, join: (all: T, next: T) => T): Promise<T> => {
  let all = await getJson<T>(path)
  while (all.nextCursor !== null) all = join(all, await getJson<T>(`${path}&cursor=${encodeURIComponent(all.nextCursor)}`))
  return all
}

const svc = (service: string) => `/api/services/${encodeURIComponent(service)}`
const q = (params: Record<string, string>) => new URLSearchParams(params).toString()

export const api = {
  status: () => getJson<Status>("/api/status"),
  topology: (minutes: number) => getJson<Topology>(`/api/topology?${rangeQuery(minutes)}`),
  instanceTopology: (minutes: number) => getJson<InstanceTopology>(`/api/instance-topology?${rangeQuery(minutes)}`),
  serviceTopology: (service: string, minutes: number) => getJson<Topology>(`${svc(service)}/topology?${rangeQuery(minutes)}`),
  instances: (service: string, minutes: number) =>
    getAllPages<InstanceList>(`${svc(service)}/instances?${rangeQuery(minutes)}`, (all, next) => ({
      ...next,
      instances: [...all.instances, ...next.instances]
    })),
  endpoints: (service: string, minutes: number) =>
    getAllPages<EndpointList>(`${svc(service)}/endpoints?${rangeQuery(minutes)}`, (all, next) => ({
      ...next,
      endpoints: [...all.endpoints, ...next.endpoints]
    })),
  serviceSeries: (service: string, minutes: number) =>
    getJson<Series>(`/api/series?${q({ scope: "service", service })}&${rangeQuery(minutes)}`),
  instanceSeries: (service: string, instance: string, minutes: number) =>
    getJson<Series>(`/api/series?${q({ scope: "instance", service, instance })}&${rangeQuery(minutes)}`),
  relationSeries: (source: string, target: string, detectPoint: "client" | "server", minutes: number) =>
    getJson<Series>(`/api/series?${q({ scope: "serviceRelation", source, target, detectPoint })}&${rangeQuery(minutes)}`),
  /** Envoy MetricsService data: each instance's proxy health, and one proxy's metrics. */
  proxies: (service: string, minutes: number) => getJson<ProxyHealthList>(`${svc(service)}/proxies?${rangeQuery(minutes)}`),
  proxy: (service: string, instance: string, minutes: number) =>
    getJson<ProxyInstance>(`${svc(service)}/instances/${encodeURIComponent(instance)}/proxy?${rangeQuery(minutes)}`)
}
