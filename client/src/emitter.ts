/** A listener of an event whose payload is `T`. May return a promise (see each emitter's use). */
export type Listener<T> = (payload: T) => unknown

/**
 * A minimal typed event emitter (no Node `events` import, so the browser bundle stays small).
 * A listener that throws is reported to `onListenerError` and does not stop the others.
 */
export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>()

  constructor(private readonly onListenerError: (error: unknown, event: keyof Events) => void = () => {}) {}

  /** Adds `listener` for `event`; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event)
    if (!set) this.listeners.set(event, (set = new Set()))
    set.add(listener as Listener<never>)
    return () => this.off(event, listener)
  }

  /** Removes `listener` from `event` (no-op when absent). */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.listeners.get(event)?.delete(listener as Listener<never>)
  }

  /** A copy of the listeners of `event`, in the order they were added. */
  listenersOf<K extends keyof Events>(event: K): Listener<Events[K]>[] {
    return [...(this.listeners.get(event) ?? [])] as Listener<Events[K]>[]
  }

  /** How many listeners `event` has. */
  count<K extends keyof Events>(event: K): number {
    return this.listeners.get(event)?.size ?? 0
  }

  /** Calls every listener of `event` synchronously; returns what they returned (promises included). */
  emit<K extends keyof Events>(event: K, payload: Events[K]): unknown[] {
    const set = this.listeners.get(event)
    if (!set || set.size === 0) return []
    const results: unknown[] = []
    for (const listener of [...set]) {
      try {
        results.push((listener as Listener<Events[K]>)(payload))
      } catch (error) {
        this.onListenerError(error, event)
      }
    }
    return results
  }

  /** Removes every listener. */
  clear(): void {
    this.listeners.clear()
  }
}
