import { SwitchboardError } from '../errors.js'

/** Options of {@link DispatchPool}. */
export interface DispatchPoolOptions {
  /** Tasks running at once (a positive integer). */
  concurrency: number
  /** Tasks allowed to wait for a slot (an integer >= 0); past it `run` rejects with `OVERLOADED`. */
  queueCap: number
  /** Deadline of one call in milliseconds, counted from `run` (queue wait included). */
  deadlineMs: number
}

/** A task given to {@link DispatchPool.run}; `signal` aborts at the deadline or on `close()`. */
export type DispatchTask<T> = (signal: AbortSignal) => Promise<T> | T

interface Job {
  readonly task: DispatchTask<unknown>
  readonly controller: AbortController
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
  timer: ReturnType<typeof setTimeout> | undefined
  /** The caller's promise is settled; later outcomes of the task are ignored. */
  done: boolean
}

interface DrainWaiter {
  readonly resolve: (idle: boolean) => void
  readonly timer: ReturnType<typeof setTimeout>
}

/**
 * A bounded pool for handler calls: at most `concurrency` tasks run at once, up to `queueCap`
 * more wait in FIFO order, and every call has a deadline of `deadlineMs` from the moment `run`
 * is called. Past the deadline the task's `AbortSignal` aborts and the caller gets `TIMEOUT`
 * at once, but the slot stays taken until the task really settles, so a runaway handler keeps
 * counting against `concurrency` instead of letting unbounded work pile up.
 *
 * Each pending call holds one timer (its deadline), cleared as soon as the call settles; once
 * nothing is pending, and after `close()`, the pool holds no timers.
 * @throws SwitchboardError `CONFIG_INVALID` from the constructor for a bad option.
 */
export class DispatchPool {
  readonly #concurrency: number
  readonly #queueCap: number
  readonly #deadlineMs: number
  /** Waiting jobs in arrival order; a Set so an expired job leaves from the middle in O(1). */
  readonly #queue = new Set<Job>()
  /** Jobs whose task was started and has not settled yet (even if their caller has been answered). */
  readonly #running = new Set<Job>()
  readonly #drainWaiters = new Set<DrainWaiter>()
  #closed = false

  constructor(options: DispatchPoolOptions) {
    const { concurrency, queueCap, deadlineMs } = options
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) invalid('concurrency', concurrency, 'a positive integer')
    if (!Number.isSafeInteger(queueCap) || queueCap < 0) invalid('queueCap', queueCap, 'an integer >= 0')
    if (!(deadlineMs > 0) || !Number.isFinite(deadlineMs)) invalid('deadlineMs', deadlineMs, 'a positive number of milliseconds')
    this.#concurrency = concurrency
    this.#queueCap = queueCap
    this.#deadlineMs = deadlineMs
  }

  /**
   * Runs `task` when a slot is free and resolves with its result. Errors thrown or rejected by
   * the task propagate unchanged.
   * @throws SwitchboardError (as a rejection) `OVERLOADED` when `queueCap` calls already wait
   *   (the task never runs); `TIMEOUT` when the deadline passes first (a queued task then never
   *   starts, a running one sees its signal abort with that same error as `reason`); `CLOSED`
   *   after `close()`.
   */
  run<T>(task: DispatchTask<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new SwitchboardError('CLOSED'))
    const canStart = this.#running.size < this.#concurrency && this.#queue.size === 0
    if (!canStart && this.#queue.size >= this.#queueCap) return Promise.reject(new SwitchboardError('OVERLOADED'))
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        task,
        controller: new AbortController(),
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: undefined,
        done: false,
      }
      job.timer = setTimeout(() => this.#expire(job), this.#deadlineMs)
      if (canStart) this.#start(job)
      else this.#queue.add(job)
    })
  }

  /** Tasks started and not yet settled, including ones whose caller already got `TIMEOUT` or `CLOSED`. */
  get running(): number {
    return this.#running.size
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.#queue.size
  }

  /**
   * Waits until nothing is running or queued. Resolves true then (at once if already idle), or
   * false when `timeoutMs` passes first. It does not stop new calls: stop accepting work first.
   */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.#idle()) return Promise.resolve(true)
    return new Promise<boolean>(resolve => {
      const waiter: DrainWaiter = {
        resolve,
        timer: setTimeout(() => {
          this.#drainWaiters.delete(waiter)
          resolve(false)
        }, timeoutMs),
      }
      this.#drainWaiters.add(waiter)
    })
  }

  /**
   * Closes the pool; idempotent. Queued calls reject with `CLOSED` and never run; new calls
   * reject with `CLOSED`. Running tasks are abandoned: their signal aborts (reason: a `CLOSED`
   * error) and their callers get `CLOSED` at once; they keep counting in `running` until they
   * settle, so `drain()` still tells when they are really gone. Every deadline timer is cleared.
   */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    const error = new SwitchboardError('CLOSED')
    const queued = [...this.#queue]
    this.#queue.clear()
    for (const job of queued) this.#answer(job, error, true)
    for (const job of this.#running) {
      if (job.done) continue
      this.#answer(job, error, true)
      job.controller.abort(error)
    }
    this.#checkIdle()
  }

  #start(job: Job): void {
    this.#running.add(job)
    let result: unknown
    try {
      result = job.task(job.controller.signal)
    } catch (error) {
      // Settled on a later microtask like any other outcome, so a queue of throwing tasks
      // never recurses through #next.
      result = Promise.reject(error)
    }
    Promise.resolve(result).then(
      value => this.#finish(job, value, false),
      (error: unknown) => this.#finish(job, error, true),
    )
  }

  #finish(job: Job, outcome: unknown, failed: boolean): void {
    this.#running.delete(job)
    this.#answer(job, outcome, failed)
    this.#next()
    this.#checkIdle()
  }

  /** Settles the caller's promise once and clears the job's deadline timer. */
  #answer(job: Job, outcome: unknown, failed: boolean): void {
    if (job.done) return
    job.done = true
    clearTimeout(job.timer)
    job.timer = undefined
    if (failed) job.reject(outcome)
    else job.resolve(outcome)
  }

  #expire(job: Job): void {
    job.timer = undefined
    const error = new SwitchboardError('TIMEOUT')
    if (this.#queue.delete(job)) {
      this.#answer(job, error, true)
      this.#checkIdle()
      return
    }
    this.#answer(job, error, true)
    job.controller.abort(error)
  }

  #next(): void {
    while (this.#running.size < this.#concurrency) {
      const first = this.#queue.values().next()
      if (first.done) return
      this.#queue.delete(first.value)
      this.#start(first.value)
    }
  }

  #idle(): boolean {
    return this.#running.size === 0 && this.#queue.size === 0
  }

  #checkIdle(): void {
    if (!this.#idle() || this.#drainWaiters.size === 0) return
    const waiters = [...this.#drainWaiters]
    this.#drainWaiters.clear()
    for (const waiter of waiters) {
      clearTimeout(waiter.timer)
      waiter.resolve(true)
    }
  }
}

function invalid(name: string, value: number, expected: string): never {
  throw new SwitchboardError('CONFIG_INVALID', `DispatchPool: ${name} must be ${expected}, got ${value}`)
}
