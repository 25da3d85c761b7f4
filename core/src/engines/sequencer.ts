/**
 * Numbers the messages of channels that are not persisted (PROTOCOL.md: ephemeral channels still
 * number their messages with `seq`). Across nodes sharing one sequencer, each channel's seqs are
 * distinct and increasing; they are not durable: a restart may start a new epoch.
 */
export interface Sequencer {
  /** The next seq of `channel` and the epoch it belongs to. */
  next(channel: string): Promise<{ epoch: string; seq: number }>
  /** The latest seq handed out for `channel` (0 when none) and its epoch. */
  current(channel: string): Promise<{ epoch: string; seq: number }>
  /** Releases resources. Idempotent; later calls reject with `CLOSED`. */
  close(): Promise<void>
}
