// The Errors tab of the service and relation views: the failed requests meshsight kept (GET /api/logs, the
// `persistence` analyzer), newest first; a row opens a drawer with everything its log holds.
import type { ErrorLog, ErrorLogPage } from "../../src/error-logs/error-log.ts"
import { rangeQuery } from "./api.ts"
import { h } from "./dom.ts"
import { fmtClock } from "./format.ts"

/** Logs of `service` (as its own proxy reported them), optionally only those with `peer` on the other side. */
export interface LogFilter {
  readonly service: string
  readonly peer?: string
}

const PAGE = 100

// Kept across the views' periodic refreshes, which redraw everything: the chosen tab and the open log.
let errorsChosen = false
let openLogId: string | undefined

const fetchPage = async (filter: LogFilter, minutes: number, cursor?: string): Promise<ErrorLogPage> => {
  const params = new URLSearchParams({ service: filter.service, limit: String(PAGE) })
  if (filter.peer !== undefined) params.set("peer", filter.peer)
  if (cursor !== undefined) params.set("cursor", cursor)
  const response = await fetch(`/api/logs?${params}&${rangeQuery(minutes)}`, { cache: "no-store" })
  const body = (await response.json().catch(() => ({}))) as Partial<ErrorLogPage> & { error?: string }
  if (!response.ok || body.logs === undefined) throw new Error(body.error ?? `the logs API answered ${response.status}`)
  return { logs: body.logs, cursor: body.cursor ?? null }
}

const codeOf = (l: ErrorLog) =>
  [
    l.responseCode ?? "",
    l.grpcStatus !== null && l.grpcStatus !== 0 ? `grpc ${l.grpcStatus}` : "",
    l.responseFlags.map((f) => f.code).join(",")
  ]
    .filter((x) => x !== "")
    .join(" ")

const TIMINGS: ReadonlyArray<readonly [keyof ErrorLog["timings"], string]> = [
  ["requestReceivedMs", "request received"],
  ["upstreamRequestStartMs", "sent upstream"],
  ["upstreamResponseStartMs", "upstream answer began"],
  ["upstreamResponseEndMs", "upstream answer ended"],
  ["responseStartMs", "answer began"],
  ["responseEndMs", "answer ended"]
]

const drawer = h("aside", { id: "error-log-drawer", class: "drawer", hidden: true })

const showLog = (l: ErrorLog | undefined) => {
  openLogId = l?.id
  drawer.hidden = l === undefined
  if (l === undefined) return drawer.replaceChildren()
  const side = (s: ErrorLog["source"]) => (s === null ? "unknown" : `${s.service} (${s.instance})`)
  const rows: ReadonlyArray<readonly [string, string | number | null]> = [
    ["Time", new Date(l.time).toISOString()],
    ["Reported by", `${l.service} (${l.instance}), ${l.role}, ${l.side} side`],
    ["Source", side(l.source)],
    ["Destination", side(l.destination)],
    ["Protocol", l.protocol],
    ["Request", l.protocol === "TCP" ? "" : `${l.method} ${l.authority}${l.path}`],
    ["Response code", l.responseCode],
    ["Details", l.responseCodeDetails],
    ["gRPC status", l.grpcStatus],
    ["Response flags", l.responseFlags.map((f) => `${f.code} (${f.name})`).join(", ")],
    ["Latency", `${l.latencyMs} ms`],
    ...TIMINGS.map(([key, label]) => [`  ${label}`, l.timings[key] === null ? "—" : `${l.timings[key]} ms`] as const),
    ["Upstream cluster", l.upstreamCluster],
    ["Upstream host", l.upstreamHost],
    ["Request id", l.requestId],
    ["Trace id", l.traceId],
    ["User agent", l.userAgent],
    ["TLS", l.tlsMode],
    ["Bytes (request / response)", `${l.requestBytes} / ${l.responseBytes}`]
  ]
  drawer.replaceChildren(
    h(
      "div",
      { class: "drawer-head" },
      h("h3", {}, "Failed request"),
      h("button", { type: "button", id: "close-drawer", onclick: () => showLog(undefined) }, "Close")
    ),
    h("dl", { "data-log-id": l.id }, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v === null || v === "" ? "—" : String(v))]))
  )
}

const logTable = (logs: ReadonlyArray<ErrorLog>, byId: Map<string, ErrorLog>) => {
  const body = h("tbody", {})
  const add = (more: ReadonlyArray<ErrorLog>) => {
    for (const l of more) {
      byId.set(l.id, l)
      body.append(
        h(
          "tr",
          { "data-log-id": l.id, class: "clickable", onclick: () => showLog(l) },
          h("td", {}, fmtClock(l.time)),
          h("td", {}, l.side),
          h("td", {}, l.peer ?? "—"),
          h("td", { class: "path", title: l.path }, l.protocol === "TCP" ? "TCP" : `${l.method} ${l.path}`),
          h("td", {}, codeOf(l)),
          h("td", {}, `${l.latencyMs} ms`)
        )
      )
    }
  }
  add(logs)
  const table = h(
    "table",
    { class: "data", "data-table": "error-logs" },
    h("thead", {}, h("tr", {}, ...["Time", "Side", "Peer", "Request", "Code / flags", "Latency"].map((t) => h("th", { scope: "col" }, t)))),
    body
  )
  return { table, add }
}

/** Newest first over several filters' pages (a relation's logs come from both of its services' proxies). */
const merged = (pages: ReadonlyArray<ErrorLogPage>) => pages.flatMap((p) => p.logs).sort((a, b) => b.time - a.time)

const fillErrors = async (panel: HTMLElement, filters: ReadonlyArray<LogFilter>, minutes: number) => {
  const pages = await Promise.all(filters.map((f) => fetchPage(f, minutes)))
  const logs = merged(pages)
  const byId = new Map<string, ErrorLog>()
  const { table, add } = logTable(logs, byId)
  // Paging follows one filter's cursor (the service view has one filter).
  let cursor = filters.length === 1 ? pages[0].cursor : null
  const more = h("button", { type: "button", id: "more-errors", hidden: cursor === null }, "Load more")
  more.addEventListener("click", async () => {
    const page = await fetchPage(filters[0], minutes, cursor ?? undefined)
    add(page.logs)
    cursor = page.cursor
    more.hidden = cursor === null
  })
  panel.replaceChildren(
    logs.length === 0
      ? h(
          "p",
          { class: "muted", "data-message": "no-errors" },
          "No failed requests kept in this range. Error logs are kept when the analyzer lists include ",
          h("code", {}, "persistence"),
          "."
        )
      : table,
    more,
    drawer
  )
  showLog(openLogId === undefined ? undefined : byId.get(openLogId))
}

/**
 * Puts the view's content (everything after its title) under an "Overview" tab and adds an "Errors" tab. Call it
 * after the view drew its charts, so they were measured while visible.
 */
export const addErrorsTab = (root: HTMLElement, filters: ReadonlyArray<LogFilter>, minutes: number) => {
  const [title, ...content] = [...root.children]
  const overview = h("div", { id: "overview-panel", class: "tab-panel" })
  overview.append(...content)
  const errors = h("div", { id: "errors-panel", class: "tab-panel panel" })
  const tab = (id: string, label: string) => h("button", { type: "button", role: "tab", id }, label)
  const overviewTab = tab("overview-tab", "Overview")
  const errorsTab = tab("errors-tab", "Errors")
  const choose = (showErrors: boolean) => {
    errorsChosen = showErrors
    overview.hidden = showErrors
    errors.hidden = !showErrors
    overviewTab.setAttribute("aria-selected", String(!showErrors))
    errorsTab.setAttribute("aria-selected", String(showErrors))
    if (showErrors) {
      fillErrors(errors, filters, minutes).catch((e: unknown) =>
        errors.replaceChildren(
          h("p", { class: "state-message", "data-message": "errors-unavailable" }, e instanceof Error ? e.message : String(e))
        )
      )
    }
  }
  overviewTab.addEventListener("click", () => choose(false))
  errorsTab.addEventListener("click", () => choose(true))
  root.replaceChildren(title, h("div", { class: "tabs", role: "tablist" }, overviewTab, errorsTab), overview, errors)
  choose(errorsChosen)
}
