/** A scheduled check that one recipient acknowledged one message of an at-least-once channel. */
export interface RedeliveryJob {
  readonly channel: string
  /** The recipient's user id. */
  readonly user: string
  readonly seq: number
  /** 1 for the first check after delivery, 2 for the next, … */
  readonly attempt: number
}

/** Runs a due job. Throwing makes the queue retry it later (at least once semantics). */
export type RedeliveryHandler = (job: RedeliveryJob) => Promise<void>

/**
 * Delayed redelivery checks for at-least-once channels.
 *
 * Behaviour every implementation guarantees (see `testing/queue-conformance.ts`):
 * - A scheduled job runs once its delay has passed, on one of the nodes sharing the queue, at
 *   least once: handlers must be idempotent.
 * - Scheduling the same (channel, user, seq, attempt) again while it is pending changes
 *   nothing: one run.
 * - A handler that throws is retried later; the queue never drops a job silently while open.
 * - Nothing here is durable by contract: the queue may lose every pending job (Redis restart).
 *   Callers rebuild pending checks from the message store (acked cursor vs latest seq).
 * - After `close()` (idempotent) no handler starts, running ones are awaited, and `schedule`
 *   rejects with `CLOSED`.
 */
export interface RedeliveryQueue {
  /** Schedules `job` to run after `delayMs` milliseconds. */
  schedule(job: RedeliveryJob, delayMs: number): Promise<void>
  /** Sets the handler of due jobs and starts processing on this node. */
  process(handler: RedeliveryHandler): void
  /** Stops processing and releases connections. */
  close(): Promise<void>
}
