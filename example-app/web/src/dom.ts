/** A child of {@link h}: nodes as they are, strings as text nodes (never parsed as HTML); nothing for `null`/`undefined`/`false`. */
export type Child = Node | string | null | undefined | false

/**
 * Makes an element: `attrs` are set with `setAttribute` (`true` sets an empty attribute,
 * `false`/`undefined` sets nothing), children are appended, strings as text. User text only
 * ever reaches the page this way, or through `textContent`: the page never uses `innerHTML`.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    element.setAttribute(name, value === true ? '' : String(value))
  }
  append(element, ...children)
  return element
}

/** Appends `children` to `parent` (strings as text nodes). */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child)
  }
}

/** The element with id `id`. @throws Error when the page has none (a mismatch between index.html and the script). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id)
  if (!element) throw new Error(`index.html has no #${id}`)
  return element as T
}

/** Removes every child of `node`. */
export function clear(node: Node): void {
  while (node.firstChild) node.removeChild(node.firstChild)
}
