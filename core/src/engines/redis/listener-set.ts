/**
 * Listeners of one event of a Redis engine. A listener that throws is reported to `onError` and
 * the others still run, so nothing a listener does can break into ioredis's event handling.
 */
export class ListenerSet<Args extends unknown[]> {
  readonly #listeners = new Set<(...args: Args) => void>()

  /** `onError` receives what a listener threw; it must not throw. */
  constructor(private readonly onError: (error: unknown) => void) {}

  /** Adds `listener`; returns the function that removes it (idempotent). */
  add(listener: (...args: Args) => void): () => void {
    const entry = (...args: Args): void => listener(...args)
    this.#listeners.add(entry)
    return () => {
      this.#listeners.delete(entry)
    }
  }

  /** Calls every listener with `args`, in the order they were added. */
  emit(...args: Args): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(...args)
      } catch (error) {
        this.onError(error)
      }
    }
  }
}
