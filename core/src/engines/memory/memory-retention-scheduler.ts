import { SwitchboardError } from '../../errors.js'
import type { Logger } from '../../observability/logger.js'
import type { RetentionRun, RetentionScheduler } from '../retention.js'

/** Options of {@link MemoryRetentionScheduler}. */
export interface MemoryRetentionSchedulerOptions {
  /** Time between runs (ms). Default 60000. */
  intervalMs?: number
  /** Where a run that rejects is reported (`error`). Default: nowhere. */
  logger?: Logger
}

/**
 * A {@link RetentionScheduler} for single-process use and tests: one `setInterval` timer. A
 * real implementation, never a mock. Nodes of one process share it by sharing the instance;
 * each interval then runs once, with the `run` given last.
 *
 * - The first run is one interval after `start`; `runNow()` runs at once.
 * - Runs never overlap: an interval that falls due while a run is in flight runs once right
 *   after it, so every interval gets a run that starts no earlier than it.
 * - `close()` clears the timer and waits for a run in flight; none starts afterwards.
 */
export class MemoryRetentionScheduler implements RetentionScheduler {
  readonly #intervalMs: number
  readonly #logger: Logger | undefined
  #run: RetentionRun | undefined
  #timer: NodeJS.Timeout | undefined
  /** The run in flight. */
  #current: Promise<void> | undefined
  /** An interval fell due during the run in flight. */
  #owed = false
  #closing: Promise<void> | undefined

  /** Throws `CONFIG_INVALID` when `intervalMs` is not a positive integer. */
  constructor(options: MemoryRetentionSchedulerOptions = {}) {
    const intervalMs = options.intervalMs ?? 60_000
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) {
      throw new SwitchboardError('CONFIG_INVALID', `intervalMs must be a positive integer, got ${String(intervalMs)}.`)
    }
    this.#intervalMs = intervalMs
    this.#logger = options.logger
  }

  /**
   * Sets the run (replacing any earlier one) and, the first time, starts the timer. Rejects
   * with `CLOSED` once `close()` was called.
   */
  async start(run: RetentionRun): Promise<void> {
    if (this.#closing !== undefined) throw closedError()
    this.#run = run
    this.#timer ??= setInterval(() => this.#tick(), this.#intervalMs)
  }

  /**
   * Runs now, after the run in flight if there is one; resolves when it has finished, rejects
   * with what it rejected with. Does nothing before `start`. Rejects with `CLOSED` once
   * `close()` was called.
   */
  async runNow(): Promise<void> {
    for (;;) {
      if (this.#closing !== undefined) throw closedError()
      const current = this.#current
      if (current === undefined) break
      await current.catch(() => {})
    }
    if (this.#run !== undefined) await this.#invoke(this.#run)
  }

  /** Clears the timer, then waits for the run in flight. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer)
      this.#timer = undefined
      await this.#current?.catch(() => {})
    })()
    return this.#closing
  }

  #tick(): void {
    const run = this.#run
    if (run === undefined || this.#closing !== undefined) return
    if (this.#current !== undefined) {
      this.#owed = true
      return
    }
    this.#invoke(run).catch((err: unknown) => this.#logger?.error({ err }, 'retention run failed'))
  }

  /** Runs `run` as the run in flight; when an interval fell due meanwhile, starts its run right after. */
  async #invoke(run: RetentionRun): Promise<void> {
    const current = (async () => run({ slot: Date.now() }))()
    this.#current = current
    try {
      await current
    } finally {
      this.#current = undefined
      if (this.#owed) {
        this.#owed = false
        this.#tick()
      }
    }
  }
}

function closedError(): SwitchboardError {
  return new SwitchboardError('CLOSED', 'The retention scheduler is closed.')
}
