import { describe, expect, it } from "vitest"
import { DEFAULT_K8S_SERVICE_NAME_RULE, DEFAULT_MX_SERVICE_NAME_RULE } from "../../src/config.ts"
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

  it("rejects malformed templates with the reason", () => {
    for (const bad of ["${a", "${}", "${a..b}", '${LABELS."app}', "${a.}", "${(x}"]) {
      expect(() => compileTemplate(bad), bad).toThrow(TemplateSyntaxError)
    }
  })
})
