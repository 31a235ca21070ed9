// A tiny element builder: enough DOM for a few views without a framework.
type Child = Node | string | number | null | undefined | false | ReadonlyArray<Child>
type Attrs = Readonly<Record<string, string | number | boolean | EventListener | undefined>>

export const h = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: ReadonlyArray<Child>
): HTMLElementTagNameMap[K] => {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    if (typeof value === "function") el.addEventListener(name.slice(2), value)
    else el.setAttribute(name, value === true ? "" : String(value))
  }
  appendChildren(el, children)
  return el
}

const appendChildren = (el: HTMLElement, children: ReadonlyArray<Child>) => {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    if (Array.isArray(child)) appendChildren(el, child)
    else el.append(child instanceof Node ? child : String(child))
  }
}
