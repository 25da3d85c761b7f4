import { SwitchboardError } from '../../errors.js'
import type { Logger } from '../../observability/logger.js'
import type { RedeliveryHandler, RedeliveryJob, RedeliveryQueue } from '../queue.js'

/** Options of {@link MemoryRedeliveryQueue}. */
export interface MemoryRedeliveryQueueOptions {
  /** Delay before the first retry of a job whose handler threw (ms); doubles on each retry. Default 1000. */
  retryDelayMs?: number
  /** Cap of the retry delay (ms). Default 60000. */
  maxRetryDelayMs?: number
  /** Where handler failures are reported (`warn`). Default: nowhere. */
  logger?: Logger
}

/** One pending job: waiting for its timer, due and waiting for a handler, or running. */
interface Entry {
  readonly key: string
  readonly job: RedeliveryJob
  /** When the job (or its next retry) is due, ms since the Unix epoch. */
  dueAt: number
  timer: NodeJS.Timeout | undefined
  /** Times the handler threw for this job. */
  failures: number
}

/** Longest delay `setTimeout` honours (about 24.8 days); longer waits are re-armed in steps. */
const MAX_TIMEOUT_MS = 2_147_483_647

/**
 * A {@link RedeliveryQueue} for single-process use and tests: one timer per pending job, in this
 * process's memory, so every pending job is lost on exit (callers rebuild them from the store,
 * as after a Redis restart). A real implementation, never a mock. Nodes of one process share a
 * queue by sharing the instance; a job then runs once, on the one handler set.
 *
 * - One pending entry per (channel, user, seq, attempt): scheduling it again while it waits,
 *   runs or waits for a retry changes nothing. Once its handler succeeds it may be scheduled anew.
 * - A job that falls due before `process()` is called waits and runs as soon as it is.
 * - A handler that throws (or rejects) is retried, forever while the queue is open, after
 *   `retryDelayMs`, doubling each time up to `maxRetryDelayMs`.
 * - `close()` clears every timer and pending job at once, then waits for running handlers;
 *   no handler starts after it was called.
 */
export class MemoryRedeliveryQueue implements RedeliveryQueue {
  readonly #entries = new Map<string, Entry>()
  readonly #running = new Set<Promise<void>>()
  readonly #retryDelayMs: number
  readonly #maxRetryDelayMs: number
  readonly #logger: Logger | undefined
  #handler: RedeliveryHandler | undefined
  #closing: Promise<void> | undefined

  /** Throws `CONFIG_INVALID` when a delay option is not a non-negative integer. */
  constructor(options: MemoryRedeliveryQueueOptions = {}) {
    this.#retryDelayMs = checkDelay(options.retryDelayMs ?? 1000, 'retryDelayMs')
    this.#maxRetryDelayMs = checkDelay(options.maxRetryDelayMs ?? 60_000, 'maxRetryDelayMs')
    this.#logger = options.logger
  }

  /**
   * Schedules `job` to run after `delayMs` (a negative or `NaN` delay counts as 0), unless the
   * same (channel, user, seq, attempt) is pending. Rejects with `CLOSED` once `close()` was called.
   */
  async schedule(job: RedeliveryJob, delayMs: number): Promise<void> {
    if (this.#closing !== undefined) throw new SwitchboardError('CLOSED', 'The redelivery queue is closed.')
    const copy: RedeliveryJob = { channel: job.channel, user: job.user, seq: job.seq, attempt: job.attempt }
    const key = JSON.stringify([copy.channel, copy.user, copy.seq, copy.attempt])
    if (this.#entries.has(key)) return
    const entry: Entry = { key, job: copy, dueAt: Date.now() + (delayMs > 0 ? delayMs : 0), timer: undefined, failures: 0 }
    this.#entries.set(key, entry)
    this.#arm(entry)
  }

  /**
   * Sets the handler of due jobs (replacing any earlier one) and runs the jobs that fell due
   * while there was none. Does nothing once `close()` was called.
   */
  process(handler: RedeliveryHandler): void {
    if (this.#closing !== undefined) return
    const idle = this.#handler === undefined
    this.#handler = handler
    if (!idle) return
    for (const entry of this.#entries.values()) {
      if (entry.timer === undefined && entry.dueAt <= Date.now()) this.#run(entry)
    }
  }

  /**
   * Clears every timer and pending job, then resolves once the running handlers have settled.
   * Idempotent: every call resolves when the first one has finished.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const entry of this.#entries.values()) clearTimeout(entry.timer)
      this.#entries.clear()
      await Promise.allSettled([...this.#running])
    })()
    return this.#closing
  }

  /** How many jobs are pending (waiting, due, running or waiting for a retry). */
  get size(): number {
    return this.#entries.size
  }

  /** Sets the entry's timer for `dueAt`, in steps when it is further than `setTimeout` can wait. */
  #arm(entry: Entry): void {
    const wait = Math.min(Math.max(entry.dueAt - Date.now(), 0), MAX_TIMEOUT_MS)
    entry.timer = setTimeout(() => {
      entry.timer = undefined
      if (entry.dueAt > Date.now()) this.#arm(entry)
      else if (this.#handler !== undefined) this.#run(entry)
    }, wait)
  }

  /** Runs the handler on a due entry: forgets the entry on success, re-arms it with backoff on failure. */
  #run(entry: Entry): void {
    const handler = this.#handler
    if (handler === undefined || this.#closing !== undefined) return
    const running = (async () => {
      try {
        await handler({ ...entry.job })
        this.#entries.delete(entry.key)
      } catch (error) {
        entry.failures += 1
        const delay = Math.min(this.#retryDelayMs * 2 ** (entry.failures - 1), this.#maxRetryDelayMs)
        this.#logger?.warn({ err: error, job: entry.job, failures: entry.failures, retryInMs: delay }, 'redelivery handler threw; retrying')
        if (this.#closing !== undefined) return
        entry.dueAt = Date.now() + delay
        this.#arm(entry)
      }
    })()
    this.#running.add(running)
    void running.finally(() => this.#running.delete(running))
  }
}

/** `value` when it is a non-negative safe integer; throws `CONFIG_INVALID` naming `name` otherwise. */
function checkDelay(value: number, name: string): number {
  if (!(Number.isSafeInteger(value) && value >= 0)) {
    throw new SwitchboardError('CONFIG_INVALID', `${name} must be a non-negative integer (ms), got ${String(value)}.`)
  }
  return value
}
