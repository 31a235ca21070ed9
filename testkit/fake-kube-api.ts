// A fake Kubernetes API server speaking the real list/watch protocol over plain HTTP on loopback, for the real
// @kubernetes/client-node: JSON lists with `metadata.resourceVersion` (paginated with `limit`/`continue`),
// `?watch=true` as a chunked stream of newline-separated events, `410 Gone` as an ERROR event carrying a Status
// when the requested version is older than the retained history. It can drop connections and restart, and leave a
// kind out (a cluster without a CRD answers 404 for it).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { Socket } from "node:net"
import { KubeConfig } from "@kubernetes/client-node"

export type FakeResource = "pods" | "services" | "endpointslices" | "serviceentries"

const PATHS: Readonly<Record<string, FakeResource>> = {
  "/api/v1/pods": "pods",
  "/api/v1/services": "services",
  "/apis/discovery.k8s.io/v1/endpointslices": "endpointslices",
  "/apis/networking.istio.io/v1/serviceentries": "serviceentries"
}
const LIST_KINDS: Readonly<Record<FakeResource, [string, string]>> = {
  pods: ["v1", "PodList"],
  services: ["v1", "ServiceList"],
  endpointslices: ["discovery.k8s.io/v1", "EndpointSliceList"],
  serviceentries: ["networking.istio.io/v1", "ServiceEntryList"]
}

type EventType = "ADDED" | "MODIFIED" | "DELETED"
interface KubeObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown }
  [k: string]: unknown
}
interface HistoryEvent {
  readonly rv: number
  readonly resource: FakeResource
  readonly type: EventType
  readonly object: KubeObject
}
interface Watcher {
  readonly resource: FakeResource
  readonly res: ServerResponse
}

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`

export class FakeKubeApi {
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()
  private readonly watchers = new Set<Watcher>()
  private readonly objects: Record<FakeResource, Map<string, KubeObject>> = {
    pods: new Map(),
    services: new Map(),
    endpointslices: new Map(),
    serviceentries: new Map()
  }
  /** Kinds this server does not serve (their CRD is not installed): list and watch answer 404. */
  readonly absent = new Set<FakeResource>()
  private history: Array<HistoryEvent> = []
  /** Versions at or below this are compacted away: watching from them gives 410. */
  private compactedRv = 0
  private rv = 1
  /** Every request's path and query, for assertions. */
  readonly requests: Array<string> = []
  port = 0

  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => this.handle(req, res))
    server.on("connection", (socket) => {
      this.sockets.add(socket)
      socket.on("close", () => this.sockets.delete(socket))
    })
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(port, "127.0.0.1", () => resolve())
    })
    this.server = server
    this.port = (server.address() as { port: number }).port
    return this
  }

  /** Closes the listener and every connection (watches end mid-stream, as when the API server dies). */
  async stop(): Promise<void> {
    const server = this.server
    this.server = undefined
    this.dropConnections()
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  /** Stops and comes back on the same port; without history, earlier versions are gone (410 for old watches). */
  async restart(options: { readonly keepHistory: boolean; readonly downMs?: number }): Promise<void> {
    await this.stop()
    if (!options.keepHistory) this.compact()
    if (options.downMs !== undefined) await new Promise((r) => setTimeout(r, options.downMs))
    await this.start(this.port)
  }

  /** Cuts every open connection without closing the listener. */
  dropConnections(): void {
    this.watchers.clear()
    for (const socket of this.sockets) socket.destroy()
  }

  /** Forgets the event history, as etcd compaction does. */
  compact(): void {
    this.history = []
    this.compactedRv = this.rv
  }

  /** Sends a BOOKMARK carrying the current version to every watch of `resource`. */
  bookmark(resource: FakeResource): void {
    const object = { metadata: { resourceVersion: String(this.rv) } }
    for (const w of this.watchers) if (w.resource === resource) w.res.write(`${JSON.stringify({ type: "BOOKMARK", object })}\n`)
  }

  /** Answers open watches of `resource` with a 410 ERROR event and ends them. */
  expireWatches(resource: FakeResource): void {
    for (const w of [...this.watchers]) if (w.resource === resource) this.sendGone(w.res)
  }

  get watchCount(): number {
    return this.watchers.size
  }

  put(resource: FakeResource, object: KubeObject): void {
    const existing = this.objects[resource].has(keyOf(object))
    this.record(resource, existing ? "MODIFIED" : "ADDED", object)
    this.objects[resource].set(keyOf(object), this.last.object)
  }

  delete(resource: FakeResource, namespace: string, name: string): void {
    const key = `${namespace}/${name}`
    const object = this.objects[resource].get(key)
    if (object === undefined) throw new Error(`no ${resource} ${key}`)
    this.objects[resource].delete(key)
    this.record(resource, "DELETED", object)
  }

  /** A kubeconfig pointing at this server. */
  kubeConfig(): KubeConfig {
    return kubeConfigFor(this.port)
  }

  kubeConfigYaml(): string {
    return kubeConfigYamlFor(this.port)
  }

  private get last(): HistoryEvent {
    return this.history[this.history.length - 1]
  }

  private record(resource: FakeResource, type: EventType, object: KubeObject): void {
    const rv = ++this.rv
    const stamped = { ...object, metadata: { ...object.metadata, resourceVersion: String(rv) } }
    const event = { rv, resource, type, object: stamped }
    this.history.push(event)
    for (const w of this.watchers) if (w.resource === resource) this.send(w.res, event)
  }

  private send(res: ServerResponse, e: HistoryEvent): void {
    res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`)
  }

  private sendGone(res: ServerResponse): void {
    const status = {
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      reason: "Expired",
      code: 410,
      message: "too old resource version"
    }
    res.end(`${JSON.stringify({ type: "ERROR", object: status })}\n`)
    for (const w of this.watchers) if (w.res === res) this.watchers.delete(w)
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://fake")
    this.requests.push(`${url.pathname}${url.search}`)
    const resource = PATHS[url.pathname]
    if (resource === undefined || this.absent.has(resource) || req.method !== "GET") {
      res.writeHead(404, { "content-type": "application/json" })
      res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code: 404, message: "not found" }))
      return
    }
    if (url.searchParams.get("watch") === "true") this.watch(resource, url, res)
    else this.list(resource, url, res)
  }

  private list(resource: FakeResource, url: URL, res: ServerResponse): void {
    const all = [...this.objects[resource].values()]
    const limit = Number(url.searchParams.get("limit") ?? "0")
    const [listRv, offsetText] = (url.searchParams.get("continue") ?? `${this.rv}:0`).split(":")
    const offset = Number(offsetText)
    const items = limit > 0 ? all.slice(offset, offset + limit) : all.slice(offset)
    const more = limit > 0 && offset + limit < all.length
    const [apiVersion, kind] = LIST_KINDS[resource]
    res.writeHead(200, { "content-type": "application/json" })
    res.end(
      JSON.stringify({
        apiVersion,
        kind,
        metadata: { resourceVersion: listRv, ...(more ? { continue: `${listRv}:${offset + limit}` } : {}) },
        items
      })
    )
  }

  private watch(resource: FakeResource, url: URL, res: ServerResponse): void {
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" })
    const from = Number(url.searchParams.get("resourceVersion") || "0")
    if (from > 0 && from < this.compactedRv) return this.sendGone(res)
    const watcher: Watcher = { resource, res }
    this.watchers.add(watcher)
    res.on("close", () => this.watchers.delete(watcher))
    if (from === 0) {
      // "Any version": the current state as ADDED events.
      for (const object of this.objects[resource].values()) this.send(res, { rv: 0, resource, type: "ADDED", object })
    } else {
      for (const e of this.history) if (e.resource === resource && e.rv > from) this.send(res, e)
    }
    res.flushHeaders()
  }
}

/** A kubeconfig for a fake API server on `port` (of this process or another) over plain HTTP. */
export const kubeConfigYamlFor = (port: number): string =>
  [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: fake",
    "  cluster:",
    `    server: http://127.0.0.1:${port}`,
    // client-node needs skip-TLS-verify for http.
    "    insecure-skip-tls-verify: true",
    "users:",
    "- name: fake",
    "  user:",
    "    token: fake-token",
    "contexts:",
    "- name: fake",
    "  context: {cluster: fake, user: fake}",
    "current-context: fake",
    ""
  ].join("\n")

export const kubeConfigFor = (port: number): KubeConfig => {
  const kc = new KubeConfig()
  kc.loadFromString(kubeConfigYamlFor(port))
  return kc
}
