import { setTimeout as nextTimerTurn } from 'node:timers/promises'
import { Queue, Worker, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import { SwitchboardError } from '../../errors.js'
import type { Logger } from '../../observability/logger.js'
import type { RetentionRun, RetentionScheduler } from '../retention.js'
import { checkName, checkNoKeyPrefix } from './bullmq-options.js'
import { blockingSocketClosed, quitClient, workerClient } from './worker-connections.js'

/** Options of {@link BullmqRetentionScheduler}. */
export interface BullmqRetentionSchedulerOptions {
  /**
   * A ready ioredis client, used as it is by the BullMQ `Queue` (the job scheduler) and never
   * closed by this scheduler. It must have no ioredis `keyPrefix` (use `prefix`).
   */
  readonly connection: Redis
  /**
   * The client the `Worker` sends plain commands on (as it is, never closed here) and
   * duplicates for its blocking fetch (BullMQ closes that copy). Default `connection`. When it
   * was not created with `maxRetriesPerRequest: null`, which BullMQ requires of the copy, a
   * duplicate that has it is used instead (closed by `close()`).
   */
  readonly workerConnection?: Redis
  /** Prefix of every Redis key (BullMQ's `prefix`): keys are `<prefix>:<queueName>:…`. Default `sb`. */
  readonly prefix?: string
  /** The BullMQ queue name; no `:`. Nodes of one service use the same one. Default `retention`. */
  readonly queueName?: string
  /**
   * Time between runs (ms). Default 60000. Nodes of one service should agree: the last node to
   * start with another value moves the shared schedule to it.
   */
  readonly intervalMs?: number
  /** Where failed runs and connection errors are reported. Default: nowhere. */
  readonly logger?: Logger
}

/** The id of the one BullMQ job scheduler of the queue; its jobs are `repeat:<id>:<slot>`. */
export const RETENTION_SCHEDULER_ID = 'retention'

/** The BullMQ job name of each run. */
const JOB_NAME = 'enforce'

/**
 * A {@link RetentionScheduler} on BullMQ (Redis): one job scheduler (`upsertJobScheduler` with
 * `every: intervalMs`) shared by every node that uses the same Redis, `prefix` and `queueName`,
 * and a `Worker` per node that runs `run`.
 *
 * - Each interval is one job, with an id of its own (`repeat:retention:<slot>`), taken by one
 *   worker of one node; the queue's global concurrency is 1, so runs never overlap across
 *   nodes. The first one is due when the scheduler is first created; starting more nodes
 *   keeps the schedule as it is. A node that dies mid-run leaves its job to BullMQ's
 *   stalled-job check, which runs it again elsewhere (at least once).
 * - A run that rejects is logged at `error` and not retried: the next interval runs anyway.
 *   Finished jobs are removed at once.
 * - Redis may lose the scheduler (restart without persistence): every node checks once per
 *   interval that it exists and creates it again when it does not.
 * - `close()` stops this node's worker (awaiting a running job) and its check, and closes the
 *   `Queue` and any client it created, never the ones it was given. It removes nothing from
 *   Redis: the other nodes go on with the same schedule.
 */
export class BullmqRetentionScheduler implements RetentionScheduler {
  readonly #queue: Queue
  readonly #workerConnection: Redis
  readonly #prefix: string
  readonly #queueName: string
  readonly #intervalMs: number
  readonly #logger: Logger | undefined
  #run: RetentionRun | undefined
  #starting: Promise<void> | undefined
  #worker: Worker | undefined
  #ownedClient: Redis | undefined
  /** Checks once per interval that the job scheduler still exists. */
  #check: NodeJS.Timeout | undefined
  #checking: Promise<void> | undefined
  #closing: Promise<void> | undefined

  /**
   * Creates the BullMQ `Queue` on `connection`. Throws `CONFIG_INVALID` for an empty `prefix`,
   * a `queueName` that is empty or holds `:`, a client with an ioredis `keyPrefix`, or an
   * `intervalMs` that is not a positive integer.
   */
  constructor(options: BullmqRetentionSchedulerOptions) {
    const { connection } = options
    this.#prefix = checkName(options.prefix ?? 'sb', 'prefix', false)
    this.#queueName = checkName(options.queueName ?? 'retention', 'queueName', true)
    const intervalMs = options.intervalMs ?? 60_000
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) {
      throw new SwitchboardError('CONFIG_INVALID', `intervalMs must be a positive integer, got ${String(intervalMs)}.`)
    }
    this.#intervalMs = intervalMs
    this.#logger = options.logger
    const template = options.workerConnection ?? connection
    checkNoKeyPrefix([['connection', connection], ['workerConnection', template]])
    this.#workerConnection = template
    this.#queue = new Queue(this.#queueName, { connection, prefix: this.#prefix })
    this.#queue.on('error', (error) => this.#logger?.warn({ err: error }, 'retention queue connection error'))
  }

  /**
   * Sets the run (replacing any earlier one); the first time, creates or joins the shared job
   * scheduler and starts this node's worker. Resolves once both are in place. Rejects with
   * `CLOSED` once `close()` was called, `INTERNAL` (the BullMQ error as `cause`) when Redis
   * refuses the schedule; a later call tries again.
   */
  start(run: RetentionRun): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(closedError())
    this.#run = run
    this.#starting ??= this.#ensureSchedule().then(
      () => this.#startWorker(),
      (error: unknown) => {
        this.#starting = undefined
        throw error
      },
    )
    return this.#starting
  }

  /**
   * Stops the check and the worker (a running job finishes first; its sockets are closed when
   * this resolves), then closes the queue and the worker client this scheduler created, if
   * any. A `start` still waiting for Redis then rejects with `CLOSED` or resolves, having
   * started nothing. Idempotent: every call resolves when the first one has finished.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#check)
      // A start or check still waiting for Redis is not awaited (it could wait as long as Redis
      // is down): once closing, neither creates anything.
      if (this.#worker !== undefined) {
        await this.#worker.close()
        await blockingSocketClosed(this.#worker)
        // BullMQ emits the worker's `ready` from a 0 ms timer; let it fire so no timer outlives close().
        await nextTimerTurn(0)
      }
      await this.#queue.close()
      if (this.#ownedClient !== undefined) await quitClient(this.#ownedClient)
    })()
    return this.#closing
  }

  /**
   * Sets the queue's global concurrency to 1 and upserts the job scheduler. Upserting an
   * existing scheduler with the same interval keeps its next slot, so nodes joining do not
   * shift or duplicate it.
   */
  async #ensureSchedule(): Promise<void> {
    try {
      await this.#queue.setGlobalConcurrency(1)
      await this.#queue.upsertJobScheduler(
        RETENTION_SCHEDULER_ID,
        { every: this.#intervalMs },
        { name: JOB_NAME, data: {}, opts: { attempts: 1, removeOnComplete: true, removeOnFail: true } },
      )
    } catch (cause) {
      if (this.#closing !== undefined) throw closedError()
      throw new SwitchboardError('INTERNAL', 'The retention schedule could not be created.', { cause })
    }
  }

  /** Starts this node's worker and its once-per-interval check of the schedule, unless closing. */
  #startWorker(): void {
    if (this.#closing !== undefined || this.#worker !== undefined) return
    const { client, owned } = workerClient(this.#workerConnection)
    if (owned) this.#ownedClient = client
    const worker = new Worker(this.#queueName, (job) => this.#process(job), {
      connection: client,
      prefix: this.#prefix,
      concurrency: 1,
    })
    worker.on('error', (error) => this.#logger?.warn({ err: error }, 'retention worker error'))
    worker.on('failed', (job, error) => this.#logger?.error({ err: error, job: job?.id }, 'retention run failed'))
    this.#worker = worker
    this.#check = setInterval(() => {
      this.#checking ??= this.#repair().finally(() => (this.#checking = undefined))
    }, this.#intervalMs)
  }

  /** Creates the job scheduler again when Redis lost it; never rejects (a failure is logged). */
  async #repair(): Promise<void> {
    try {
      if ((await this.#queue.getJobScheduler(RETENTION_SCHEDULER_ID)) !== undefined || this.#closing !== undefined) return
      this.#logger?.warn({ queue: this.#queueName }, 'the retention job scheduler was missing; creating it again')
      await this.#ensureSchedule()
    } catch (err) {
      if (this.#closing === undefined) this.#logger?.warn({ err }, 'checking the retention job scheduler failed')
    }
  }

  /** The worker's processor: runs `run` for the job's slot (`close()` waits for it). */
  async #process(job: Job): Promise<void> {
    const run = this.#run
    if (run === undefined) throw closedError()
    await run({ slot: slotOf(job) })
  }
}

/** The slot of a scheduler job: the `<slot>` of its id `repeat:<scheduler>:<slot>`, else its creation time. */
function slotOf(job: Job): number {
  const slot = Number(job.id?.slice(job.id.lastIndexOf(':') + 1))
  return Number.isSafeInteger(slot) && slot > 0 ? slot : job.timestamp
}

function closedError(): SwitchboardError {
  return new SwitchboardError('CLOSED', 'The retention scheduler is closed.')
}
