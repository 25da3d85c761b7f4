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

/**
 * A task's deadline, as {@link DispatchPool.run} hands it to the task. Its `signal` is made on
 * first use only (an `AbortSignal` costs more than most handlers), and aborts at the deadline or
 * on `close()`, with the caller's `TIMEOUT` or `CLOSED` error as `reason`.
 */
export interface TaskDeadline {
  /** Whether the deadline passed (or the pool closed). */
  readonly aborted: boolean
  /** Aborts at the deadline or on `close()`; made on first use. */
  readonly signal: AbortSignal
  /** Throws the abort reason once aborted. */
  throwIfAborted(): void
}

/**
 * The {@link TaskDeadline} of work outside the pool (e.g. a server-side publish): `signal`'s,
 * or, without one, a deadline that never passes (each use of its `signal` gets a fresh one that
 * never aborts, so listeners added to it are not kept).
 */
export function deadlineOf(signal?: AbortSignal): TaskDeadline {
  if (signal === undefined) {
    return {
      aborted: false,
      get signal() {
        return new AbortController().signal
      },
      throwIfAborted() {},
    }
  }
  return {
    get aborted() {
      return signal.aborted
    },
    signal,
    throwIfAborted: () => signal.throwIfAborted(),
  }
}

/** A task given to {@link DispatchPool.run}. */
export type DispatchTask<T> = (deadline: TaskDeadline) => Promise<T> | T

/** A task given to {@link DispatchPool.submit}: gets the caller's `context` and its deadline. */
export type ContextTask<C> = (context: C, deadline: TaskDeadline) => unknown

/**
 * Hears the outcome of a {@link DispatchPool.submit} call, once: `failed` is false with the
 * task's value, or true with what it threw or rejected with (or `TIMEOUT`, `CLOSED`).
 */
export type TaskOutcome<C> = (context: C, failed: boolean, outcome: unknown) => void

/** One call of {@link DispatchPool.submit}: its task, caller, deadline and abort state. */
class Job implements TaskDeadline {
  /** The abort reason, once aborted. */
  #reason: unknown
  #controller: AbortController | undefined
  /** The caller has been answered; later outcomes of the task are ignored. */
  done = false

  constructor(
    readonly task: ContextTask<unknown>,
    readonly context: unknown,
    readonly answer: TaskOutcome<unknown>,
    /** When the deadline passes (`performance.now()` ms). */
    readonly deadlineAt: number,
  ) {}

  get aborted(): boolean {
    return this.#reason !== undefined
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      if (this.#reason !== undefined) this.#controller.abort(this.#reason)
    }
    return this.#controller.signal
  }

  throwIfAborted(): void {
    if (this.#reason !== undefined) throw this.#reason
  }

  /** Aborts with `reason` (once). */
  abort(reason: unknown): void {
    if (this.#reason !== undefined) return
    this.#reason = reason
    this.#controller?.abort(reason)
  }
}

interface DrainWaiter {
  readonly resolve: (idle: boolean) => void
  readonly timer: ReturnType<typeof setTimeout>
}

/**
 * A bounded pool for handler calls: at most `concurrency` tasks run at once, up to `queueCap`
 * more wait in FIFO order, and every call has a deadline of `deadlineMs` from the moment `run`
 * is called. Past the deadline the task's deadline aborts and the caller gets `TIMEOUT`
 * at once, but the slot stays taken until the task really settles, so a runaway handler keeps
 * counting against `concurrency` instead of letting unbounded work pile up.
 *
 * Deadlines come in call order (they are all `deadlineMs` long), so one timer serves every
 * pending call: it is armed for the oldest one's deadline and moves on when it fires. Once
 * nothing is pending the timer is unreferenced (it keeps no process alive; it goes when it next
 * fires), and `close()` clears it.
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
  /** Calls whose caller is not answered yet, in call order, which is deadline order. */
  readonly #pending = new Set<Job>()
  /** The deadline timer: armed no later than the oldest pending call's deadline. */
  #timer: NodeJS.Timeout | undefined
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
    return new Promise<T>((resolve, reject) => {
      const refused = this.submit(runTask, { task, resolve, reject } satisfies RunCall, settleRun)
      if (refused !== undefined) reject(refused)
    })
  }

  /**
   * {@link run} without promises of its own, for the hot path: runs `task(context, deadline)`
   * when a slot is free and then calls `answer(context, failed, outcome)` once, never
   * synchronously from `submit` (an error thrown by `task` is answered on a later microtask).
   * Deadlines and closing answer as `run` rejects. Shared `task` and `answer` functions with a
   * per-call `context` allocate nothing per call but the pool's own record. `answer` may submit
   * again at once; it must not throw (it runs inside the pool's bookkeeping).
   * @returns undefined when the call was accepted; the `OVERLOADED` or `CLOSED` error when it
   *   was refused at once (`task` never runs and `answer` is never called).
   */
  submit<C>(task: ContextTask<C>, context: C, answer: TaskOutcome<C>): SwitchboardError | undefined {
    if (this.#closed) return new SwitchboardError('CLOSED')
    const canStart = this.#running.size < this.#concurrency && this.#queue.size === 0
    if (!canStart && this.#queue.size >= this.#queueCap) return new SwitchboardError('OVERLOADED')
    const job = new Job(task as ContextTask<unknown>, context, answer as TaskOutcome<unknown>, performance.now() + this.#deadlineMs)
    this.#pending.add(job)
    if (this.#timer === undefined) this.#timer = setTimeout(this.#sweep, this.#deadlineMs)
    else if (this.#pending.size === 1) this.#timer.ref()
    if (canStart) this.#start(job)
    else this.#queue.add(job)
    return undefined
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
      job.abort(error)
    }
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#checkIdle()
  }

  #start(job: Job): void {
    this.#running.add(job)
    let result: unknown
    try {
      result = job.task(job.context, job)
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

  /** Settles the caller's promise once; the last pending call lets the timer go unreferenced. */
  #answer(job: Job, outcome: unknown, failed: boolean): void {
    if (job.done) return
    job.done = true
    this.#pending.delete(job)
    if (this.#pending.size === 0) this.#timer?.unref()
    job.answer(job.context, failed, outcome)
  }

  /**
   * The deadline timer fired: arms it for the first call still in time, then expires every call
   * past its deadline. In that order because a `submit` answer may submit again at once (the
   * router does): that call then finds the timer armed, or arms it itself when none is left.
   */
  readonly #sweep = (): void => {
    this.#timer = undefined
    const now = performance.now()
    const expired: Job[] = []
    for (const job of this.#pending) {
      if (job.deadlineAt > now) {
        this.#timer = setTimeout(this.#sweep, Math.max(1, Math.ceil(job.deadlineAt - now)))
        break
      }
      expired.push(job)
    }
    for (const job of expired) this.#expire(job)
  }

  #expire(job: Job): void {
    const error = new SwitchboardError('TIMEOUT')
    if (this.#queue.delete(job)) {
      this.#answer(job, error, true)
      this.#checkIdle()
      return
    }
    this.#answer(job, error, true)
    job.abort(error)
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

/** A {@link DispatchPool.run} call, as the context of its {@link DispatchPool.submit}. */
interface RunCall {
  readonly task: DispatchTask<unknown>
  readonly resolve: (value: never) => void
  readonly reject: (error: unknown) => void
}

function runTask(call: RunCall, deadline: TaskDeadline): unknown {
  return call.task(deadline)
}

function settleRun(call: RunCall, failed: boolean, outcome: unknown): void {
  if (failed) call.reject(outcome)
  else call.resolve(outcome as never)
}

function invalid(name: string, value: number, expected: string): never {
  throw new SwitchboardError('CONFIG_INVALID', `DispatchPool: ${name} must be ${expected}, got ${value}`)
}
