/**
 * Hands one channel's messages to the application one at a time, in order: the next message
 * waits until every handler of the previous one returned, or resolved (or rejected). `handle`
 * errors are reported to `onError`; the message still counts as handled.
 */
export class DeliveryQueue<M> {
  private readonly queue: M[] = []
  private running = false
  private generation = 0
  private idleWaiters: (() => void)[] = []

  /**
   * @param handle runs the application's handlers for one message; may return a promise.
   * @param handled called after `handle` finished for a message (acks go out from here).
   * @param onError called with what a handler threw or rejected with.
   */
  constructor(
    private readonly handle: (message: M) => unknown,
    private readonly handled: (message: M) => void,
    private readonly onError: (error: unknown, message: M) => void,
  ) {}

  /** Messages waiting (not counting the one being handled). */
  get length(): number {
    return this.queue.length
  }

  /** Queues messages (already in order) and starts handling them. */
  push(messages: readonly M[]): void {
    if (messages.length === 0) return
    this.queue.push(...messages)
    if (!this.running) void this.run()
  }

  /** Drops the waiting messages; the one being handled finishes, and nothing after it runs. */
  clear(): void {
    this.queue.length = 0
    this.generation += 1
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve()
    return new Promise(resolve => this.idleWaiters.push(resolve))
  }

  private async run(): Promise<void> {
    this.running = true
    const generation = this.generation
    while (this.queue.length > 0 && generation === this.generation) {
      const message = this.queue.shift()!
      try {
        await this.handle(message)
      } catch (error) {
        this.onError(error, message)
      }
      if (generation === this.generation) this.handled(message)
    }
    this.running = false
    // A clear() during the last handler may have been followed by a push: start again.
    if (this.queue.length > 0) return this.run()
    for (const resolve of this.idleWaiters.splice(0)) resolve()
  }
}
