import { describe, expect, it } from "vitest"
import { DEFAULT_K8S_SERVICE_NAME_RULE } from "../../src/identity/k8s-mesh/k8s-mesh.ts"
import { DEFAULT_MX_SERVICE_NAME_RULE } from "../../src/identity/mx-mesh/mx-mesh-analyzer.ts"
import { compileTemplate, TemplateSyntaxError } from "../../src/identity/name-template.ts"

describe("name templates", () => {
  it("mx-mesh's default: the first non-empty label, then the namespace", () => {
    const t = compileTemplate(DEFAULT_MX_SERVICE_NAME_RULE)
    const vars = (labels: Record<string, string>) => ({ LABELS: labels, NAMESPACE: "shop" })
    expect(t(vars({ "service.istio.io/canonical-name": "cart", app: "other" }))).toBe("cart.shop")
    expect(t(vars({ "app.kubernetes.io/name": "cart2", app: "other" }))).toBe("cart2.shop")
    expect(t(vars({ app: "cart3" }))).toBe("cart3.shop")
    expect(t(vars({ "k8s-app": "dns" }))).toBe("dns.shop")
    expect(t({ SERVICE: "legacy", NAMESPACE: "shop" })).toBe("legacy.shop")
    expect(t(vars({ "service.istio.io/canonical-name": "", app: "fallback" }))).toBe("fallback.shop")
  })

  it("fails as a whole when a placeholder finds nothing", () => {
    const t = compileTemplate(DEFAULT_MX_SERVICE_NAME_RULE)
    expect(t({ LABELS: {}, NAMESPACE: "shop" })).toBeUndefined()
    expect(t({ LABELS: { app: "cart" } })).toBeUndefined()
  })

  it("SkyWalking's k8s style: parenthesised keys with dots", () => {
    const t = compileTemplate(DEFAULT_K8S_SERVICE_NAME_RULE)
    const pod = { metadata: { namespace: "default", labels: { "service.istio.io/canonical-name": "reviews" } } }
    expect(t({ pod })).toBe("reviews.default")
    expect(compileTemplate("${service.metadata.name}")({ service: { metadata: { name: "svc" } } })).toBe("svc")
  })

  it("literal text around placeholders, numbers as text, non-strings as missing", () => {
    expect(compileTemplate("mesh/${a}-${b}")({ a: "x", b: 7 })).toBe("mesh/x-7")
    expect(compileTemplate("${a}")({ a: { nested: true } })).toBeUndefined()
    expect(compileTemplate("plain")({})).toBe("plain")
  })

  it("matches keys exactly by default (k8s-mesh), and exactly first, then ignoring case, when asked (mx-mesh)", () => {
    const vars = { NAME: "upper", labels: { App: "cart" }, Namespace: "shop" }
    expect(compileTemplate("${name}")(vars)).toBeUndefined()
    const t = (template: string) => compileTemplate(template, { ignoreKeyCase: true })(vars)
    expect(t("${name}")).toBe("upper")
    expect(t("${LABELS.app}.${namespace}")).toBe("cart.shop")
    // An exact match wins over one that differs only in case.
    expect(compileTemplate("${name}", { ignoreKeyCase: true })({ NAME: "upper", name: "lower" })).toBe("lower")
    // Without an exact match, the first key in the metadata's order that matches ignoring case.
    expect(compileTemplate("${Name}", { ignoreKeyCase: true })({ NAME: "upper", name: "lower" })).toBe("upper")
    // Keys inherited from Object.prototype are not metadata.
    expect(t("${constructor}")).toBeUndefined()
  })

  it("with `missing`, writes it for a placeholder that finds nothing (SkyWalking's FieldsHelper writes -)", () => {
    const t = compileTemplate(DEFAULT_MX_SERVICE_NAME_RULE, { missing: "-" })
    expect(t({ LABELS: { app: "cart" } })).toBe("cart.-")
    expect(t({ NAMESPACE: "shop" })).toBe("-.shop")
    // A `-` value counts as not found: the next candidate is tried.
    expect(t({ LABELS: { "service.istio.io/canonical-name": "-", app: "cart" }, NAMESPACE: "shop" })).toBe("cart.shop")
    // Nothing found for any placeholder: the template still fails, so the workload stays unknown.
    expect(t({ LABELS: {}, NAME: "pod-0" })).toBeUndefined()
    expect(t({ NAMESPACE: "-" })).toBeUndefined()
    expect(compileTemplate("plain", { missing: "-" })({})).toBe("plain")
  })

  it("rejects malformed templates with the reason", () => {
    for (const bad of ["${a", "${}", "${a..b}", '${LABELS."app}', "${a.}", "${(x}"]) {
      expect(() => compileTemplate(bad), bad).toThrow(TemplateSyntaxError)
    }
  })
})
