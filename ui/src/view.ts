// What every view gets from the app shell, and the messages of the empty and not-found states.
import type { Status } from "./api.ts"
import { h } from "./dom.ts"
import type { Thresholds } from "./health.ts"
import type { Route, ViewParams } from "./route.ts"

export interface ViewContext {
  readonly root: HTMLElement
  readonly params: ViewParams
  readonly thresholds: () => Thresholds
  readonly link: (route: Route, params?: Partial<ViewParams>) => string
}

export interface View {
  /** Fetches and draws into its own root; throws an ApiError when the API fails. */
  readonly refresh: () => Promise<"ready" | "empty">
  readonly destroy: () => void
}

/** `status` names this meshsight's own ALS port; without it (an older API) the page names none. */
export const noDataMessage = (status: Status | undefined) =>
  h(
    "section",
    { class: "state-message", "data-message": "empty" },
    h("h2", {}, "No traffic in this time range yet"),
    h("p", {}, "meshsight draws services as soon as Envoy's access logs reach it."),
    h(
      "ul",
      {},
      h("li", {}, "Try it with a simulated mesh: ", h("code", {}, "npm run demo")),
      h(
        "li",
        {},
        "Or point Istio's access log service (ALS) at meshsight's ",
        status ? ["ALS port ", h("code", { "data-port": "als" }, String(status.alsPort))] : "ALS port",
        status && status.alsPort !== status.grpcPort ? [" (gRPC port ", h("code", {}, String(status.grpcPort)), ")"] : null,
        " (see the README's Istio set-up)."
      ),
      h("li", {}, "Or choose a longer time range above", status ? ` (meshsight keeps ${status.retentionMinutes} minutes)` : "", ".")
    )
  )

export const loadingMessage = () => h("p", { class: "muted loading", "data-message": "loading" }, "Loading…")

export const unknownServiceMessage = (service: string, topologyHref: string) =>
  h(
    "section",
    { class: "state-message", "data-message": "not-found" },
    h("h2", {}, "Unknown service: ", h("code", {}, service)),
    h(
      "p",
      {},
      "meshsight has no traffic to or from this service in its retention window. The name may be misspelt, or the service has not called or been called yet."
    ),
    h("p", {}, h("a", { href: topologyHref }, "Back to the topology"))
  )

/** The API wants a token: a form that keeps it for the tab (see api.ts) and then calls `done`. */
export const tokenForm = (reason: string, save: (token: string) => void) => {
  const input = h("input", {
    type: "password",
    name: "token",
    id: "api-token",
    autocomplete: "off",
    required: true,
    "aria-label": "API token"
  })
  const form = h(
    "form",
    { class: "state-message", "data-message": "unauthorized" },
    h("h2", {}, "API token required"),
    h("p", {}, `${reason}. Enter one of the tokens in meshsight's MESHSIGHT_API_TOKEN_FILE; it is kept for this tab only.`),
    input,
    h("button", { type: "submit" }, "Continue")
  )
  form.addEventListener("submit", (e) => {
    e.preventDefault()
    if (input.value.trim() !== "") save(input.value)
  })
  return form
}
