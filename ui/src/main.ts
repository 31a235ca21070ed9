// The app shell: toolbar (time range, auto-refresh, health thresholds), error banner, and the view of the hash route.
import { ApiError, apiToken } from "./api.ts"
import { h } from "./dom.ts"
import { fmtClock } from "./format.ts"
import { DEFAULT_THRESHOLDS, loadThresholds, saveThresholds, type Thresholds } from "./health.ts"
import { hook, setState } from "./hook.ts"
import { instanceView } from "./instance-view.ts"
import { relationView } from "./relation-view.ts"
import { hrefFor, parseHash, RANGES, type Route, type ViewParams } from "./route.ts"
import { serviceView } from "./service-view.ts"
import "./style.css"
import { topologyView } from "./topology-view.ts"
import { loadingMessage, tokenForm, unknownServiceMessage, type View, type ViewContext } from "./view.ts"

const REFRESH_MS = 15_000

const toolbar = document.getElementById("toolbar")!
const banner = document.getElementById("banner")!
const root = document.getElementById("view")!

let thresholds = loadThresholds()
let current: { view: View; params: ViewParams } | undefined
let timer: ReturnType<typeof setTimeout> | undefined

const rangeSelect = h(
  "select",
  { id: "range", "aria-label": "Time range" },
  ...RANGES.map((r) => h("option", { value: r.minutes }, r.label))
)
const autoRefresh = h("input", { type: "checkbox", id: "auto-refresh", checked: true })
const refreshButton = h("button", { type: "button", id: "refresh" }, "Refresh")
const updated = h("span", { class: "muted", id: "updated" })
const thresholdsButton = h("button", { type: "button", id: "thresholds-toggle", "aria-expanded": "false" }, "Health thresholds")
const thresholdsPanel = h("form", { id: "thresholds", hidden: true })

const THRESHOLD_FIELDS: ReadonlyArray<{ readonly key: keyof Thresholds; readonly label: string }> = [
  { key: "slaWarn", label: "Warning below success rate (%)" },
  { key: "slaCrit", label: "Critical below success rate (%)" },
  { key: "latencyWarnMs", label: "Warning above avg latency (ms)" },
  { key: "latencyCritMs", label: "Critical above avg latency (ms)" }
]

const renderThresholds = () => {
  thresholdsPanel.replaceChildren(
    ...THRESHOLD_FIELDS.map((f) =>
      h("label", {}, f.label, h("input", { type: "number", name: f.key, min: 0, step: "any", value: thresholds[f.key] }))
    ),
    h("button", { type: "button", onclick: () => applyThresholds(DEFAULT_THRESHOLDS) }, "Defaults")
  )
}

const applyThresholds = (t: Thresholds) => {
  thresholds = t
  saveThresholds(t)
  renderThresholds()
  void refresh()
}

thresholdsPanel.addEventListener("change", () => {
  const value = (k: keyof Thresholds) => Number((thresholdsPanel.elements.namedItem(k) as HTMLInputElement).value)
  const next = Object.fromEntries(THRESHOLD_FIELDS.map((f) => [f.key, Number.isFinite(value(f.key)) ? value(f.key) : thresholds[f.key]]))
  applyThresholds(next as unknown as Thresholds)
})
thresholdsButton.addEventListener("click", () => {
  thresholdsPanel.hidden = !thresholdsPanel.hidden
  thresholdsButton.setAttribute("aria-expanded", String(!thresholdsPanel.hidden))
})

const showBanner = (message: string | undefined) => {
  banner.hidden = message === undefined
  banner.textContent = message ?? ""
}

/** Fetches and redraws the current view; API failures become the banner (data stays) or the not-found page. */
const refresh = async () => {
  clearTimeout(timer)
  const shown = current
  if (!shown) return
  let waitForToken = false
  try {
    const state = await shown.view.refresh()
    if (shown !== current) return
    setState(state)
    showBanner(undefined)
    updated.textContent = `Updated ${fmtClock(Date.now())}`
  } catch (e) {
    if (shown !== current) return
    if (e instanceof ApiError && e.kind === "unauthorized") {
      root.replaceChildren(
        tokenForm(e.message, (token) => {
          apiToken.set(token)
          navigate()
        })
      )
      showBanner(undefined)
      setState("unauthorized")
      // Not refreshed on the timer: that would redraw the form under the user's typing.
      waitForToken = true
    } else if (e instanceof ApiError && e.kind === "not-found") {
      const { route } = parseHash(location.hash)
      root.replaceChildren(
        unknownServiceMessage(
          route.view === "service" || route.view === "instance" ? route.service : route.view === "relation" ? route.source : "",
          hrefFor({ view: "topology" }, shown.params)
        )
      )
      showBanner(undefined)
      setState("not-found")
    } else {
      const reason = e instanceof Error ? e.message : String(e)
      showBanner(`${reason}. Retrying every ${REFRESH_MS / 1000} s${autoRefresh.checked ? "" : " when auto-refresh is on"}.`)
      setState("error")
    }
  } finally {
    hook.refreshes++
    if (shown === current && autoRefresh.checked && !waitForToken) timer = setTimeout(() => void refresh(), REFRESH_MS)
  }
}

const viewFor = (route: Route, ctx: ViewContext): View =>
  route.view === "service"
    ? serviceView(ctx, route.service)
    : route.view === "instance"
      ? instanceView(ctx, route.service, route.instance)
      : route.view === "relation"
        ? relationView(ctx, route.source, route.target)
        : topologyView(ctx)

const navigate = () => {
  const { route, params } = parseHash(location.hash)
  current?.view.destroy()
  rangeSelect.value = String(params.range)
  hook.view = route.view
  hook.charts = []
  setState("loading")
  const viewRoot = h("div", { class: "view-root" }, loadingMessage())
  root.replaceChildren(viewRoot)
  const ctx: ViewContext = {
    root: viewRoot,
    params,
    thresholds: () => thresholds,
    link: (to, overrides = {}) => hrefFor(to, { ...params, ...overrides })
  }
  current = { view: viewFor(route, ctx), params }
  void refresh()
}

rangeSelect.addEventListener("change", () => {
  const { route, params } = parseHash(location.hash)
  location.hash = hrefFor(route, { ...params, range: Number(rangeSelect.value) })
})
autoRefresh.addEventListener("change", () => void refresh())
refreshButton.addEventListener("click", () => void refresh())

toolbar.append(
  h("a", { href: "#/", class: "brand" }, "meshsight"),
  rangeSelect,
  h("label", { class: "check" }, autoRefresh, "Auto-refresh"),
  refreshButton,
  updated,
  h("span", { class: "spacer" }),
  thresholdsButton,
  thresholdsPanel
)
renderThresholds()
window.addEventListener("hashchange", navigate)
navigate()
