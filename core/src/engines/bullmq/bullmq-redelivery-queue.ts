import { Queue, Worker, type Job, type JobsOptions } from 'bullmq'
import type { Redis } from 'ioredis'
import { SwitchboardError } from '../../errors.js'
import type { Logger } from '../../observability/logger.js'
import type { RedeliveryHandler, RedeliveryJob, RedeliveryQueue } from '../queue.js'
import { checkName, checkNoKeyPrefix } from './bullmq-options.js'
import { blockingSocketClosed, quitClient, workerClient } from './worker-connections.js'

/** Options of {@link BullmqRedeliveryQueue}. */
export interface BullmqRedeliveryQueueOptions {
  /**
   * A ready ioredis client, used as it is by the BullMQ `Queue` (scheduling) and never closed by
   * this queue. It must have no ioredis `keyPrefix` (use `prefix`). `schedule` waits while Redis
   * is unreachable for as long as this client queues commands (with `maxRetriesPerRequest:
   * null`, until it reconnects).
   */
  readonly connection: Redis
  /**
   * The client the `Worker` sends plain commands on (as it is, never closed by this queue) and
   * duplicates for its blocking fetch (BullMQ closes that copy). Default `connection`. When it
   * was not created with `maxRetriesPerRequest: null`, which BullMQ requires of the copy, the
   * queue uses a duplicate of its own that has it instead (closed by `close()`).
   */
  readonly workerConnection?: Redis
  /** Prefix of every Redis key (BullMQ's `prefix`): keys are `<prefix>:<queueName>:…`. Default `sb`. */
  readonly prefix?: string
  /** The BullMQ queue name; no `:`. Nodes of one service use the same one. Default `redelivery`. */
  readonly queueName?: string
  /** Jobs this node runs at once. Default 16. */
  readonly concurrency?: number
  /** Delay before the first retry of a job whose handler threw (ms); doubles on each retry. Default 1000. */
  readonly retryDelayMs?: number
  /** Cap of the retry delay (ms). Default 60000. */
  readonly maxRetryDelayMs?: number
  /** Runs of one job, the first included, before it is given up (logged, removed). Default 20 (about 15 min with the default delays). */
  readonly attempts?: number
  /** Where handler failures and connection errors are reported. Default: nowhere. */
  readonly logger?: Logger
}

/** The BullMQ job name of every redelivery check. */
const JOB_NAME = 'check'

/**
 * The deterministic BullMQ job id of `job`: its channel and user percent-encoded
 * (`encodeURIComponent`, so `:` becomes `%3A` and `/` becomes `%2F`), then seq and attempt,
 * joined by `/`. BullMQ 6 refuses custom ids that contain `:` (unless they have exactly three
 * `:`-separated parts, a legacy form) or that are integers; this form never contains `:`, is
 * never an integer, and different jobs never share an id.
 */
export function redeliveryJobId(job: RedeliveryJob): string {
  return `${encodeURIComponent(job.channel)}/${encodeURIComponent(job.user)}/${String(job.seq)}/${String(job.attempt)}`
}

/**
 * A {@link RedeliveryQueue} on BullMQ (Redis): a delayed job per check, shared by every node
 * that uses the same Redis, `prefix` and `queueName`. Nothing is durable by contract: Redis may
 * lose every job (restart without AOF), and callers rebuild them from the message store.
 *
 * - `schedule` adds a delayed job whose id is {@link redeliveryJobId}: while a job with that id
 *   exists (delayed, waiting, running, or waiting for a retry) adding it again is a no-op, on
 *   any node. Completed jobs are removed at once, and so are jobs given up after `attempts`
 *   runs (then logged at `error`): a kept job would make its id unschedulable.
 * - A handler that throws is retried after `retryDelayMs`, doubling, capped at
 *   `maxRetryDelayMs`, up to `attempts` runs; a node that dies mid-job leaves it to BullMQ's
 *   stalled-job check, which runs it again elsewhere (at least once).
 * - `process` starts this node's `Worker`; `close()` stops it (waiting for running jobs), then
 *   closes the `Queue` and any client this queue created, never the ones it was given.
 * - Connections: the `Queue` and the `Worker` send commands on the given clients; BullMQ adds
 *   one duplicate per node for the worker's blocking fetch.
 */
export class BullmqRedeliveryQueue implements RedeliveryQueue {
  readonly #queue: Queue<RedeliveryJob>
  readonly #workerConnection: Redis
  readonly #prefix: string
  readonly #queueName: string
  readonly #concurrency: number
  readonly #retryDelayMs: number
  readonly #maxRetryDelayMs: number
  readonly #jobOptions: JobsOptions
  readonly #logger: Logger | undefined
  #worker: Worker<RedeliveryJob> | undefined
  /** The worker's client when this queue created it. */
  #ownedClient: Redis | undefined
  #handler: RedeliveryHandler | undefined
  #closing: Promise<void> | undefined

  /**
   * Creates the BullMQ `Queue` on `connection`. Throws `CONFIG_INVALID` for an empty `prefix`,
   * a `queueName` that is empty or holds `:`, a client with an ioredis `keyPrefix`, or a count or
   * delay that is not an integer in range.
   */
  constructor(options: BullmqRedeliveryQueueOptions) {
    const { connection } = options
    this.#prefix = checkName(options.prefix ?? 'sb', 'prefix', false)
    this.#queueName = checkName(options.queueName ?? 'redelivery', 'queueName', true)
    this.#concurrency = checkInteger(options.concurrency ?? 16, 'concurrency', 1)
    this.#retryDelayMs = checkInteger(options.retryDelayMs ?? 1000, 'retryDelayMs', 0)
    this.#maxRetryDelayMs = checkInteger(options.maxRetryDelayMs ?? 60_000, 'maxRetryDelayMs', 0)
    const attempts = checkInteger(options.attempts ?? 20, 'attempts', 1)
    this.#logger = options.logger
    const template = options.workerConnection ?? connection
    checkNoKeyPrefix([['connection', connection], ['workerConnection', template]])
    this.#workerConnection = template
    this.#jobOptions = {
      attempts,
      backoff: { type: 'redelivery', delay: this.#retryDelayMs },
      removeOnComplete: true,
      removeOnFail: true,
    }
    this.#queue = new Queue<RedeliveryJob>(this.#queueName, { connection, prefix: this.#prefix })
    this.#queue.on('error', (error) => this.#logger?.warn({ err: error }, 'redelivery queue connection error'))
  }

  /**
   * Adds `job` as a delayed BullMQ job due in `delayMs` (rounded; a negative or `NaN` delay
   * counts as 0); a no-op when a job with its id exists. Rejects with `CLOSED` once `close()`
   * was called, `INTERNAL` (the BullMQ error as `cause`) when Redis refuses it.
   */
  async schedule(job: RedeliveryJob, delayMs: number): Promise<void> {
    if (this.#closing !== undefined) throw closedError()
    const data: RedeliveryJob = { channel: job.channel, user: job.user, seq: job.seq, attempt: job.attempt }
    const delay = delayMs > 0 ? Math.round(delayMs) : 0
    try {
      await this.#queue.add(JOB_NAME, data, { ...this.#jobOptions, jobId: redeliveryJobId(data), delay })
    } catch (cause) {
      if (this.#closing !== undefined) throw closedError()
      throw new SwitchboardError('INTERNAL', 'The redelivery job could not be scheduled.', { cause })
    }
  }

  /**
   * Sets the handler of due jobs (replacing any earlier one) and, the first time, starts this
   * node's BullMQ `Worker`. Does nothing once `close()` was called.
   */
  process(handler: RedeliveryHandler): void {
    if (this.#closing !== undefined) return
    this.#handler = handler
    if (this.#worker !== undefined) return
    const { client, owned } = workerClient(this.#workerConnection)
    if (owned) this.#ownedClient = client
    const worker = new Worker<RedeliveryJob>(this.#queueName, (job) => this.#run(job), {
      connection: client,
      prefix: this.#prefix,
      concurrency: this.#concurrency,
      settings: {
        backoffStrategy: (attemptsMade) => Math.min(this.#retryDelayMs * 2 ** Math.max(attemptsMade - 1, 0), this.#maxRetryDelayMs),
      },
    })
    worker.on('error', (error) => this.#logger?.warn({ err: error }, 'redelivery worker error'))
    worker.on('failed', (job, error) => {
      if (job === undefined) return
      const final = job.attemptsMade >= (job.opts.attempts ?? 1)
      const fields = { err: error, job: job.data, attemptsMade: job.attemptsMade }
      if (final) this.#logger?.error(fields, 'redelivery job given up after its last attempt')
      else this.#logger?.warn(fields, 'redelivery handler threw; retrying')
    })
    this.#worker = worker
  }

  /**
   * Closes the worker (running jobs finish first; no new one starts; its sockets are closed
   * when this resolves), then the queue, then the worker client this queue created, if any. Idempotent: every call resolves when the
   * first one has finished.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#worker !== undefined) {
        await this.#worker.close()
        await blockingSocketClosed(this.#worker)
      }
      await this.#queue.close()
      if (this.#ownedClient !== undefined) await quitClient(this.#ownedClient)
    })()
    return this.#closing
  }

  /** The worker's processor: hands a copy of the job to the handler; refuses once closing, so BullMQ retries it elsewhere. */
  async #run(job: Job<RedeliveryJob>): Promise<void> {
    const handler = this.#handler
    if (handler === undefined || this.#closing !== undefined) throw closedError()
    const { channel, user, seq, attempt } = job.data
    await handler({ channel, user, seq, attempt })
  }
}

function closedError(): SwitchboardError {
  return new SwitchboardError('CLOSED', 'The redelivery queue is closed.')
}

/** `value` when it is a safe integer ≥ `min`; throws `CONFIG_INVALID` naming `name` otherwise. */
function checkInteger(value: number, name: string, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new SwitchboardError('CONFIG_INVALID', `${name} must be an integer ≥ ${min}, got ${String(value)}.`)
  }
  return value
}
