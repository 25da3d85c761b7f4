/** What a {@link RetentionScheduler} tells each run: which interval it is for. */
export interface RetentionTick {
  /**
   * When this interval's run was due, ms since the Unix epoch. Each interval has one slot; a
   * slot is run again only when an earlier attempt did not finish (a node died mid-run).
   */
  readonly slot: number
}

/** The periodic work a {@link RetentionScheduler} runs (e.g. trimming every channel's history). */
export type RetentionRun = (tick: RetentionTick) => Promise<void>

/**
 * Runs the cluster's periodic retention work.
 *
 * Behaviour every implementation guarantees:
 * - `start(run)` runs `run` every interval, on one node of the service at a time (nodes sharing
 *   the scheduler's backend), at least once per interval while any node is running. A run may
 *   be repeated (a node died mid-run), so runs must be idempotent. Runs do not overlap (short
 *   of a node that lost contact with the backend mid-run).
 * - A run that rejects is reported and not retried before the next interval.
 * - `close()` (idempotent) stops this node's share: no run starts on it afterwards, a running
 *   one is awaited. The schedule itself stays for the other nodes.
 */
export interface RetentionScheduler {
  /** Starts running `run` on this node's share of the intervals. Resolves once scheduled. */
  start(run: RetentionRun): Promise<void>
  /** Stops this node's share and releases timers and connections. */
  close(): Promise<void>
}
