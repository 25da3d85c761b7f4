import type { Logger } from 'pino'
import type { ChannelRegistry } from '../channels/channel-registry.js'
import type { RedeliveryJob, RedeliveryQueue } from '../engines/queue.js'
import type { MessageStore, StoredMessage } from '../engines/store.js'
import type { Metrics } from '../observability/metrics.js'

/** Tuning of redelivery (see `SwitchboardOptions`). */
export interface RedeliveryOptions {
  /** Delay of the first check after delivery (ms). */
  ackTimeoutMs: number
  /** Redeliveries before a message is dead-lettered. */
  redeliveryAttempts: number
  /** Cap of the backoff delay (ms). */
  redeliveryMaxDelayMs: number
}

/** Sends a message again to a recipient's live connections, on whichever nodes hold them. */
export type Resend = (user: string, message: StoredMessage) => Promise<void>

/** Messages of one (channel, recipient) scheduled per rebuild at most; later ones wait for the next. */
const REBUILD_WINDOW = 200

/**
 * At-least-once redelivery. Every delivered message gets a check per recipient after
 * `ackTimeoutMs`; a check finds the recipient's acked cursor in the store: covered → done;
 * not covered → the message is sent again to the recipient's live connections and the next check
 * is scheduled with exponential backoff and jitter; after `redeliveryAttempts` resends → a dead
 * letter with the reason (still delivered from the stream on the next subscribe).
 *
 * Checks are idempotent (the queue is at-least-once) and nothing depends on the queue keeping
 * jobs: `rebuild` reschedules checks from the store (acked cursor vs latest seq).
 */
export class Redeliverer {
  constructor(
    private readonly store: MessageStore,
    private readonly queue: RedeliveryQueue,
    private readonly registry: ChannelRegistry,
    private readonly resend: Resend,
    private readonly options: RedeliveryOptions,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    queue.process(job => this.check(job))
  }

  /** Schedules the first check of `message` for each of its recipients. */
  async delivered(message: StoredMessage, recipients: readonly string[]): Promise<void> {
    await Promise.all(
      recipients.map(user => this.queue.schedule({ channel: message.channel, user, seq: message.seq, attempt: 1 }, this.options.ackTimeoutMs)),
    )
  }

  /**
   * Schedules checks for every message of `channel` after `user`'s acked cursor that names the
   * user as a recipient (at most a window of them per call). Used after a replay and by the
   * periodic rebuild; duplicates of pending checks are harmless.
   */
  async rebuild(channel: string, user: string): Promise<number> {
    const resolved = this.registry.resolve(channel)
    const recipients = resolved.definition.recipients
    if (!recipients) return 0
    const cursor = await this.store.cursor(channel, user)
    const pending = await this.store.range(channel, cursor, REBUILD_WINDOW)
    if (pending.length === 0) return 0
    // Given up already: still delivered by replays, but not chased again.
    const dead = new Set(
      (await this.store.deadLetters({ channel, user, limit: 1000 })).filter(letter => letter.seq > cursor).map(letter => letter.seq),
    )
    let scheduled = 0
    for (const message of pending) {
      if (dead.has(message.seq) || !recipients({ params: resolved.params, from: message.from }).includes(user)) continue
      await this.queue.schedule({ channel, user, seq: message.seq, attempt: 1 }, this.options.ackTimeoutMs)
      scheduled += 1
    }
    return scheduled
  }

  /** The delay before check `attempt + 1`: exponential from `ackTimeoutMs`, capped, with ±25 % jitter. */
  backoff(attempt: number): number {
    const base = Math.min(this.options.ackTimeoutMs * 2 ** attempt, this.options.redeliveryMaxDelayMs)
    return Math.round(base * (0.75 + Math.random() * 0.5))
  }

  private async check(job: RedeliveryJob): Promise<void> {
    const cursor = await this.store.cursor(job.channel, job.user)
    if (cursor >= job.seq) return
    const [message] = await this.store.range(job.channel, job.seq - 1, 1)
    // Trimmed by retention: nothing left to deliver or to give up on.
    if (!message || message.seq !== job.seq) return
    if (job.attempt > this.options.redeliveryAttempts) {
      const recorded = await this.store.deadLetter({
        channel: job.channel,
        seq: job.seq,
        user: job.user,
        mid: message.mid,
        reason: 'max-attempts',
        attempts: job.attempt,
      })
      if (recorded) {
        this.metrics.deadLetters.inc()
        this.logger.warn({ channel: job.channel, seq: job.seq, user: job.user }, 'message dead-lettered')
      }
      return
    }
    await this.resend(job.user, message)
    this.metrics.redeliveries.inc()
    await this.queue.schedule({ ...job, attempt: job.attempt + 1 }, this.backoff(job.attempt))
  }
}
