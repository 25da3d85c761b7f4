import { randomUUID } from 'node:crypto'
import { SwitchboardError } from '../../errors.js'
import type { Sequencer } from '../sequencer.js'

/**
 * A {@link Sequencer} for single-process use and tests: one counter per channel, in memory,
 * numbering 1, 2, 3, … with no gaps. Every channel shares the instance's one random epoch (a
 * UUID), so a new instance (a restart) starts a new epoch. A counter is created by the
 * channel's first `next` and kept until `close()`; `current` creates nothing. Several nodes of
 * one process share a sequencer by sharing the instance.
 */
export class MemorySequencer implements Sequencer {
  readonly #epoch = randomUUID()
  readonly #seqs = new Map<string, number>()
  #closed = false

  /** The channel's next seq (1 for its first message) and the epoch. Rejects with `CLOSED` after `close()`. */
  async next(channel: string): Promise<{ epoch: string; seq: number }> {
    this.#assertOpen()
    const seq = (this.#seqs.get(channel) ?? 0) + 1
    this.#seqs.set(channel, seq)
    return { epoch: this.#epoch, seq }
  }

  /** The latest seq handed out for `channel` (0 when none) and the epoch. Rejects with `CLOSED` after `close()`. */
  async current(channel: string): Promise<{ epoch: string; seq: number }> {
    this.#assertOpen()
    return { epoch: this.#epoch, seq: this.#seqs.get(channel) ?? 0 }
  }

  /** Forgets every counter; later calls reject with `CLOSED`. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true
    this.#seqs.clear()
  }

  #assertOpen(): void {
    if (this.#closed) throw new SwitchboardError('CLOSED', 'The sequencer is closed.')
  }
}
