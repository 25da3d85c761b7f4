import { byId, h } from './dom.js'
import { button } from './render.js'

/** How long a notification stays (ms). */
const TOAST_MS = 15_000
/** Most notifications shown at once (the oldest go first). */
const MAX_TOASTS = 4

/**
 * Shows a notification in `#toasts` (a polite live region, so screen readers read it):
 * `text`, an optional action button and a close button. It goes away after 15 s, on close, or
 * when the action runs.
 */
export function toast(text: string, kind: string, action?: { label: string; run: () => void }): HTMLElement {
  const region = byId('toasts')
  const close = (): void => {
    clearTimeout(timer)
    item.remove()
  }
  const item = h(
    'div',
    { class: `toast ${kind}` },
    h('p', {}, text),
    action
      ? button(action.label, () => {
          close()
          action.run()
        })
      : null,
    button('×', close, { class: 'close', 'aria-label': 'Dismiss' }),
  )
  const timer = setTimeout(close, TOAST_MS)
  region.append(item)
  while (region.children.length > MAX_TOASTS) region.firstElementChild?.remove()
  return item
}
