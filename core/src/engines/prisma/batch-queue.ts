import { SwitchboardError } from '../../errors.js'

/** Options of {@link BatchQueue}. */
export interface BatchQueueOptions<I, R> {
  /** Most items one `commit` call gets (≥ 1). */
  readonly maxSize: number
  /**
   * How long the first item queued while nothing runs waits for others before its batch starts
   * (ms). 0: after the current turn of the event loop, so every item of a burst joins.
   */
  readonly maxWaitMs: number
  /**
   * Commits one batch, resolving with one result per item, in order. When it rejects, every
   * item of the batch rejects with that error.
   */
  readonly commit: (items: I[]) => Promise<R[]>
}

interface Waiting<I, R> {
  readonly item: I
  readonly resolve: (result: R) => void
  readonly reject: (error: unknown) => void
}

/**
 * Group commit: items pushed while a batch is being committed wait and go together into the
 * next `commit` call, at most `maxSize` at a time. One `commit` runs at a time; batches run in
 * push order.
 */
export class BatchQueue<I, R> {
  readonly #options: BatchQueueOptions<I, R>
  #queue: Waiting<I, R>[] = []
  #timer: NodeJS.Timeout | undefined
  #immediate: NodeJS.Immediate | undefined
  #draining: Promise<void> | undefined

  constructor(options: BatchQueueOptions<I, R>) {
    this.#options = options
  }

  /** Items waiting for a batch (not counting the batch being committed). */
  get size(): number {
    return this.#queue.length
  }

  /** Queues `item`; resolves with its result once its batch has committed, or rejects with the batch's error. */
  push(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      this.#schedule()
    })
  }

  /** Commits everything queued now, without waiting for `maxWaitMs`; resolves once nothing is queued or running. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#draining !== undefined) {
      if (this.#draining === undefined) this.#start()
      await this.#draining
    }
  }

  /**
   * Starts a batch at once when a full one waits, else after the current turn of the event loop
   * or after `maxWaitMs`. Does nothing while a batch runs: the drain loop picks the queue up.
   */
  #schedule(): void {
    if (this.#draining !== undefined) return
    if (this.#queue.length >= this.#options.maxSize) return this.#start()
    if (this.#timer !== undefined || this.#immediate !== undefined) return
    if (this.#options.maxWaitMs === 0) this.#immediate = setImmediate(() => this.#start())
    else this.#timer = setTimeout(() => this.#start(), this.#options.maxWaitMs)
  }

  #start(): void {
    clearTimeout(this.#timer)
    clearImmediate(this.#immediate)
    this.#timer = undefined
    this.#immediate = undefined
    if (this.#draining !== undefined) return
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined
      // An item may have been pushed between the loop's last check and this callback.
      if (this.#queue.length > 0) this.#schedule()
    })
  }

  /**
   * Commits batches until the queue is empty. Never rejects: errors go to each batch's items.
   * When a batch ends, the next one (what was queued meanwhile) is sent before the ended one's
   * items are answered: their callers' work then runs while the database already has the next
   * batch, rather than before it is sent.
   */
  async #drain(): Promise<void> {
    let batch = this.#queue.splice(0, this.#options.maxSize)
    let committing = this.#commit(batch)
    while (batch.length > 0) {
      const outcome = await committing
      const next = this.#queue.splice(0, this.#options.maxSize)
      if (next.length > 0) committing = this.#commit(next)
      this.#answer(batch, outcome)
      batch = next
    }
  }

  /** Runs `commit` for a batch; never rejects (the outcome carries the error). */
  async #commit(batch: Waiting<I, R>[]): Promise<{ ok: true; results: R[] } | { ok: false; error: unknown }> {
    try {
      return { ok: true, results: await this.#options.commit(batch.map((waiting) => waiting.item)) }
    } catch (error) {
      return { ok: false, error }
    }
  }

  /** Settles every item of a committed (or failed) batch. */
  #answer(batch: Waiting<I, R>[], outcome: { ok: true; results: R[] } | { ok: false; error: unknown }): void {
    if (!outcome.ok) {
      for (const waiting of batch) waiting.reject(outcome.error)
      return
    }
    batch.forEach((waiting, i) => {
      if (i < outcome.results.length) waiting.resolve(outcome.results[i] as R)
      else waiting.reject(new SwitchboardError('INTERNAL', 'The batch returned no result for an item.'))
    })
  }
}
