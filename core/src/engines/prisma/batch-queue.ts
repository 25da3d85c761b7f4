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
   * Most batches committing at once (≥ 1). Default 1. With more, a batch waiting for a free slot
   * starts after the current turn of the event loop rather than after the running one ends; the
   * caller's `commit` must then keep batches in launch order itself where order matters (the
   * store sends them down one pipelined connection).
   */
  readonly maxInFlight?: number
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

type Outcome<R> = { ok: true; results: R[] } | { ok: false; error: unknown }

/**
 * Group commit: items pushed while batches are being committed wait and go together into the
 * next `commit` call, at most `maxSize` at a time. At most `maxInFlight` commits run at once;
 * batches start in push order and their items are answered in that order too, whichever
 * commit finishes first.
 */
export class BatchQueue<I, R> {
  readonly #options: BatchQueueOptions<I, R>
  readonly #maxInFlight: number
  #queue: Waiting<I, R>[] = []
  #timer: NodeJS.Timeout | undefined
  #immediate: NodeJS.Immediate | undefined
  #inFlight = 0
  #mostInFlight = 0
  /** Settles once every batch started so far has been answered. */
  #answered: Promise<void> = Promise.resolve()

  constructor(options: BatchQueueOptions<I, R>) {
    this.#options = options
    this.#maxInFlight = options.maxInFlight ?? 1
  }

  /** Items waiting for a batch (not counting batches being committed). */
  get size(): number {
    return this.#queue.length
  }

  /** Most commits that ran at once so far. */
  get mostInFlight(): number {
    return this.#mostInFlight
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
    while (this.#queue.length > 0 || this.#inFlight > 0) {
      this.#startWhileFree()
      await this.#answered
    }
  }

  /**
   * Starts a batch at once when a full one waits, else after the current turn of the event loop
   * or after `maxWaitMs`. Does nothing while every slot is busy: the end of a commit picks the
   * queue up.
   */
  #schedule(): void {
    if (this.#inFlight >= this.#maxInFlight) return
    if (this.#queue.length >= this.#options.maxSize) return this.#startWhileFree()
    if (this.#timer !== undefined || this.#immediate !== undefined) return
    if (this.#options.maxWaitMs === 0) this.#immediate = setImmediate(() => this.#startWhileFree())
    else this.#timer = setTimeout(() => this.#startWhileFree(), this.#options.maxWaitMs)
  }

  #startWhileFree(): void {
    clearTimeout(this.#timer)
    clearImmediate(this.#immediate)
    this.#timer = undefined
    this.#immediate = undefined
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) this.#start()
  }

  /**
   * Starts one batch. When it ends, the next one (what was queued meanwhile) is started before
   * the ended one's items are answered: their callers' work then runs while the database
   * already has the next batch, rather than before it is sent.
   */
  #start(): void {
    const batch = this.#queue.splice(0, this.#options.maxSize)
    this.#inFlight += 1
    this.#mostInFlight = Math.max(this.#mostInFlight, this.#inFlight)
    const committed = this.#commit(batch)
    const earlier = this.#answered
    this.#answered = (async () => {
      const outcome = await committed
      this.#inFlight -= 1
      if (this.#queue.length > 0) this.#startWhileFree()
      await earlier
      this.#answer(batch, outcome)
    })()
  }

  /** Runs `commit` for a batch; never rejects (the outcome carries the error). */
  async #commit(batch: Waiting<I, R>[]): Promise<Outcome<R>> {
    try {
      return { ok: true, results: await this.#options.commit(batch.map((waiting) => waiting.item)) }
    } catch (error) {
      return { ok: false, error }
    }
  }

  /** Settles every item of a committed (or failed) batch. */
  #answer(batch: Waiting<I, R>[], outcome: Outcome<R>): void {
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
