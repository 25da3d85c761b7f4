/**
 * Batches one channel's acks (PROTOCOL.md `ack`, cumulative): `mark(seq)` records that
 * everything up to `seq` is processed, and one `ack` with the highest seq goes out `delayMs`
 * later (at once when 100 seqs are pending). `send` returns false when it cannot send now (not
 * connected, or not subscribed on this connection): the ack stays pending until `flush()`.
 */
export class AckBatcher {
  private marked = 0
  private sent = 0
  private again = false
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly send: (seq: number) => boolean,
    private readonly delayMs: number,
  ) {}

  /** The highest seq marked processed. */
  get processed(): number {
    return this.marked
  }

  /** Marks everything up to `seq` processed (lower seqs than before change nothing). */
  mark(seq: number): void {
    if (seq <= this.marked) return
    this.marked = seq
    if (this.marked - this.sent >= 100) this.flush()
    else this.schedule()
  }

  /**
   * The server delivered again something already marked (a redelivery): its copy of our ack may
   * have been lost with a connection, so send the current one again.
   */
  resend(): void {
    if (this.marked === 0) return
    this.again = true
    this.schedule()
  }

  /** Sends the pending ack now, when there is one and `send` can. Returns whether an ack went out. */
  flush(): boolean {
    this.cancel()
    if (this.marked <= this.sent && !this.again) return false
    if (!this.send(this.marked)) return false
    this.sent = this.marked
    this.again = false
    return true
  }

  /** Forgets everything (unsubscribe, new epoch). */
  reset(): void {
    this.cancel()
    this.marked = 0
    this.sent = 0
    this.again = false
  }

  /** Stops the timer; what is pending stays pending. */
  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined
      this.flush()
    }, this.delayMs)
  }
}
