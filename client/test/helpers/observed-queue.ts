import type { Engines } from '@switchboard/core'

type RedeliveryQueue = Engines['queue']
type RedeliveryHandler = Parameters<RedeliveryQueue['process']>[0]
type RedeliveryJob = Parameters<RedeliveryQueue['schedule']>[0]

/**
 * A redelivery queue for one process (a timer per job) that counts the checks it ran and tells
 * when no check is pending any more — the moment redelivery has stopped for good.
 */
export class ObservedQueue implements RedeliveryQueue {
  /** Checks run so far. */
  checks = 0
  private handler: RedeliveryHandler | undefined
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private pending = 0
  private idleWaiters: (() => void)[] = []

  async schedule(job: RedeliveryJob, delayMs: number): Promise<void> {
    this.pending += 1
    const timer = setTimeout(async () => {
      this.timers.delete(timer)
      try {
        await this.handler?.(job)
      } catch {
        // A failed check is simply not retried here.
      }
      this.checks += 1
      this.pending -= 1
      if (this.pending === 0) for (const resolve of this.idleWaiters.splice(0)) resolve()
    }, Math.max(0, delayMs))
    this.timers.add(timer)
  }

  process(handler: RedeliveryHandler): void {
    this.handler = handler
  }

  /** Resolves once no check is pending. */
  idle(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise(resolve => this.idleWaiters.push(resolve))
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
  }
}
