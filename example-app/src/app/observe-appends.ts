import type { MessageStore, StoredMessage } from '@switchboard/core'

/**
 * Wraps `store` so that `listener` sees every message once it is committed: right after each
 * `append` that stored something new (not a repeated idempotency key). The listener runs
 * detached: the append (so the `published` reply and the broadcast) neither waits for it nor
 * fails with it. Every other method and property, optional ones included (`ping`, …), is the
 * store's own.
 *
 * Why: a channel's `onPublish` runs before the message is stored, so it cannot know the `mid`
 * a mention notification must carry, and core has no after-commit hook on channel definitions
 * yet. Messages are appended on the node that received the publish only, so the listener runs
 * once per message across the deployment.
 */
export function observeAppends(store: MessageStore, listener: (message: StoredMessage) => Promise<void>): MessageStore {
  const append: MessageStore['append'] = async input => {
    const result = await store.append(input)
    // Detached, and after this tick: even a listener that throws at once cannot fail the append.
    if (!result.duplicate) void Promise.resolve(result.message).then(listener).catch(() => {})
    return result
  }
  return new Proxy(store, {
    get(target, property) {
      if (property === 'append') return append
      const value: unknown = Reflect.get(target, property, target)
      // Bound to the store itself: its methods may use private fields, which a proxy does not have.
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
