/** One persisted message of a channel's stream (a `message` frame without `type`). */
export interface StoredMessage {
  readonly channel: string
  /** Position in the channel's stream: 1, 2, 3, … with no gaps. */
  readonly seq: number
  /** The stream's epoch: changes when the stream's history was lost or reset. */
  readonly epoch: string
  /** Message id, unique across channels. */
  readonly mid: string
  /** User id of the publisher, or `"system"`. */
  readonly from: string
  /** The validated payload. */
  readonly data: unknown
  /** When it was appended, ms since the Unix epoch. */
  readonly ts: number
}

/**
 * A {@link StoredMessage} with its `data` as the JSON text the store holds, not parsed: what
 * {@link MessageStore.rangeJson} returns so a replay can splice it into `message` frames.
 */
export interface StoredMessageJson extends Omit<StoredMessage, 'data'> {
  /** `data` as JSON text (any valid JSON spelling of the same value; `null` for no data). */
  readonly dataJson: string
}

/** What to append. */
export interface AppendInput {
  readonly channel: string
  readonly from: string
  readonly data: unknown
  /** Idempotency key (≤ 128 chars): a repeat on the same channel returns the first message. */
  readonly key?: string
}

/** The outcome of an append. */
export interface AppendResult {
  /** The stored message (the first one, for a repeated key). */
  readonly message: StoredMessage
  /** True when `key` was seen before on this channel and nothing was appended. */
  readonly duplicate: boolean
}

/** Where a channel's stream stands. */
export interface StreamPosition {
  readonly epoch: string
  /** Latest seq (0 when empty). */
  readonly seq: number
  /** Lowest seq still stored (`seq + 1` when nothing is stored): history below it was trimmed. */
  readonly oldestSeq: number
}

/** A message a recipient never acknowledged, after the last redelivery attempt. */
export interface DeadLetter {
  readonly channel: string
  readonly seq: number
  readonly user: string
  readonly mid: string
  /** Why it was given up, e.g. `max-attempts`. */
  readonly reason: string
  /** Delivery attempts made. */
  readonly attempts: number
  /** When it was recorded, ms since the Unix epoch. */
  readonly ts: number
}

/** Retention limits of a channel's stream. */
export interface RetentionPolicy {
  /** Messages kept per channel; older ones are trimmed. */
  readonly maxMessages?: number
  /** Age after which messages are trimmed (ms). */
  readonly maxAgeMs?: number
}

/**
 * Durable per-channel message streams, recipients' acked cursors and dead letters.
 *
 * Behaviour every implementation guarantees (see `testing/store-conformance.ts`):
 * - `append` gives each channel a dense sequence 1, 2, 3, … in commit order, even when many
 *   callers (or many nodes) append to one channel at once; it resolves only once the message is
 *   durable (committed), and rejects when it is not, never leaving a half-written message.
 * - A repeated `key` on the same channel appends nothing and returns the first message with
 *   `duplicate: true`. Keys are per channel.
 * - `range` returns messages with `seq > afterSeq` in ascending order, at most `limit`.
 * - `history` returns, oldest first, the `limit` messages just before `before` (or the latest).
 * - A channel that was never appended to has epoch stable across calls, seq 0.
 * - `ack` is cumulative and monotonic: the cursor never moves backwards, and never past the
 *   channel's latest seq.
 * - Trimming (retention) never changes seqs; it raises `oldestSeq`. `trimNamespace` trims
 *   each channel of a namespace as `trim` would, and nothing outside it.
 */
export interface MessageStore {
  /** Appends one message. */
  append(input: AppendInput): Promise<AppendResult>
  /** The stream's epoch, latest seq and oldest stored seq. */
  position(channel: string): Promise<StreamPosition>
  /** Messages after `afterSeq`, ascending, at most `limit`. */
  range(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]>
  /**
   * Optional: `range` with each message's `data` left as JSON text. Replays use it when present,
   * so a JSON subscriber's `message` frames are written without parsing and re-encoding every
   * payload. Must return the same messages as `range`, `data` spelled as JSON.
   */
  rangeJson?(channel: string, afterSeq: number, limit: number): Promise<StoredMessageJson[]>
  /** The `limit` messages before `before` (exclusive; default: after the latest), oldest first. */
  history(channel: string, options: { before?: number; limit: number }): Promise<StoredMessage[]>
  /** The recipient's acked seq on `channel`, or 0 when it never acked. */
  cursor(channel: string, user: string): Promise<number>
  /** Moves the recipient's cursor to `seq` (cumulative; never backwards, never past the latest seq). */
  ack(channel: string, user: string, seq: number): Promise<void>
  /**
   * Records a dead letter. Idempotent per (channel, seq, user): a repeat changes nothing and
   * resolves `false`; the first record resolves `true`.
   */
  deadLetter(letter: Omit<DeadLetter, 'ts'>): Promise<boolean>
  /** Dead letters, oldest first, optionally of one channel and/or user, at most `limit` (default 100). */
  deadLetters(filter?: { channel?: string; user?: string; limit?: number }): Promise<DeadLetter[]>
  /** Applies `policy` to `channel` now; resolves with how many messages were trimmed. */
  trim(channel: string, policy: RetentionPolicy): Promise<number>
  /**
   * Applies `policy` now, as `trim` does, to every channel whose name starts with
   * `${namespace}:` (the channels of one definition); resolves with how many messages were
   * trimmed in all. Only a prefix of each stream goes, so `oldestSeq` stays exact.
   */
  trimNamespace(namespace: string, policy: RetentionPolicy): Promise<number>
  /** Releases connections. Idempotent; later calls reject with `CLOSED`. */
  close(): Promise<void>
  /**
   * Resolves when the database answers a trivial query, rejects otherwise (readiness probes).
   * Optional: a store without it (the memory one) is always ready.
   */
  ping?(): Promise<void>
}
