import type { StreamPosition } from './frames.js'

/** The fields of a message the cursor orders by. */
export interface Positioned {
  readonly seq: number
  readonly epoch: string
}

/** The parts of a `subscribed` reply the cursor needs. */
export interface SubscribedPosition {
  readonly epoch: string
  /** The channel's latest seq when the server subscribed. */
  readonly seq: number
  readonly recovered: boolean
}

/** What to do with a received message. */
export interface Verdict<M> {
  /** Messages to hand to the application now, in order (the received one and any it unblocked). */
  readonly deliver: M[]
  /** A gap (or a new epoch) was seen: resubscribe with `since` = {@link StreamCursor.position} to fill it. */
  readonly fill: boolean
  /** Already delivered (a replay seam or a redelivery): dropped. */
  readonly duplicate: boolean
}

const NOTHING: Verdict<never> = Object.freeze({ deliver: [], fill: false, duplicate: false })

/**
 * Orders one channel's stream for the application: every message exactly once, in `seq` order.
 *
 * - Deduplicates by seq (the channel is fixed): a seq at or below the last delivered is dropped.
 * - Holds messages that arrive early (out of order, or before the `subscribed` reply) until the
 *   ones before them arrive; asks for a fill (resubscribe with `since`) when a gap opens in live
 *   traffic. While a replay announced by a `recovered: true` reply runs, early messages are only
 *   held: the replay will bring what lies before them.
 * - After a `recovered: false` reply the stream's start is unknown (an at-least-once channel
 *   replays from the recipient's acked cursor, a broadcast one from the latest seq on): messages
 *   at or below the reply's `seq` are held until one at or past it arrives, then all are
 *   delivered in order. A new epoch restarts numbering from scratch.
 *
 * Pure logic: no timers, no sockets; the subscription drives it.
 */
export class StreamCursor<M extends Positioned> {
  /** The stream's epoch, once a `subscribed` reply named it. */
  epoch: string | undefined
  /** The highest seq handed to the application. */
  lastSeq = 0
  /** Set by a `recovered: false` reply: its `seq`, until the stream's start is known. */
  private syncUntil: number | undefined
  /** Set by a `recovered: true` reply: the replay reaches this seq. */
  private replayUntil = 0
  /**
   * The `seq` of a `recovered: false` reply after which the connection dropped before anything of
   * the stream arrived: a broadcast channel missed nothing up to it (see `resume`).
   */
  private quietUntil = 0
  /** Whether a `subscribe` awaits its reply (no further fill is requested meanwhile). */
  private awaiting = false
  private readonly held = new Map<number, M>()

  /** Messages held back (for tests and diagnostics). */
  get heldCount(): number {
    return this.held.size
  }

  /** Whether a `subscribe` of this channel awaits its reply. */
  get subscribing(): boolean {
    return this.awaiting
  }

  /** Records that a `subscribe` was sent. */
  subscribeSent(): void {
    this.awaiting = true
  }

  /** Records that the `subscribe` in flight failed or its connection dropped. */
  subscribeFailed(): void {
    this.awaiting = false
  }

  /** Where a fill of the current gap resumes: after the last delivered seq. */
  position(): StreamPosition | undefined {
    return this.epoch === undefined ? undefined : { epoch: this.epoch, seq: this.lastSeq }
  }

  /**
   * Where to resume on a new connection, and any held messages that must be delivered first
   * (the part of a replay that arrived before the connection dropped). Undefined `since` means
   * subscribe afresh (the first `subscribed` never came).
   */
  resume(): { since: StreamPosition | undefined; deliver: M[] } {
    this.awaiting = false
    if (this.epoch === undefined) {
      this.held.clear()
      return { since: undefined, deliver: [] }
    }
    let deliver: M[] = []
    if (this.syncUntil !== undefined) {
      const quiet = this.held.size === 0
      // Held messages are a replay cut short: deliver them and resume after them.
      if (!quiet) deliver = this.flush()
      else this.quietUntil = Math.max(this.quietUntil, this.syncUntil)
      this.syncUntil = undefined
      // With none held, where the stream starts is still unknown: an at-least-once channel
      // replays from the recipient's acked cursor, which may lie below the reply's seq (resuming
      // after that seq would skip those messages, and a later cumulative ack would lose them for
      // good); a broadcast channel starts after it. Subscribing afresh lets the server pick again.
      if (quiet) return { since: undefined, deliver }
    }
    return { since: { epoch: this.epoch, seq: this.lastSeq }, deliver }
  }

  /**
   * Applies a `subscribed` reply. Returns what to deliver now, and `lost`: whether messages may
   * have been missed for good (the reply did not recover and the stream has moved past what was
   * delivered, or its epoch changed) — the app should reload its state.
   */
  subscribed(reply: SubscribedPosition): { deliver: M[]; lost: boolean } {
    this.awaiting = false
    const newEpoch = this.epoch !== undefined && reply.epoch !== this.epoch
    if (newEpoch) this.lastSeq = 0
    this.epoch = reply.epoch
    for (const [seq, message] of this.held) if (message.epoch !== reply.epoch || seq <= this.lastSeq) this.held.delete(seq)
    if (reply.recovered) {
      this.syncUntil = undefined
      this.replayUntil = reply.seq
      return { deliver: this.drain([]), lost: false }
    }
    // A subscribe afresh after a quiet one (see `resume`): nothing up to that one's seq was missed.
    const lost = newEpoch || reply.seq > Math.max(this.lastSeq, this.quietUntil)
    this.quietUntil = 0
    this.replayUntil = 0
    if (reply.seq <= this.lastSeq) {
      this.syncUntil = undefined
      return { deliver: this.flush(), lost }
    }
    this.syncUntil = reply.seq
    const highest = Math.max(0, ...this.held.keys())
    if (highest >= reply.seq) {
      this.syncUntil = undefined
      return { deliver: this.flush(), lost }
    }
    return { deliver: [], lost }
  }

  /** Applies one received message. */
  receive(message: M): Verdict<M> {
    if (this.epoch === undefined) {
      // Before the first `subscribed` (an at-least-once redelivery can overtake it): hold.
      this.held.set(message.seq, message)
      return NOTHING
    }
    if (message.epoch !== this.epoch) {
      // Either the subscribe in flight will announce this epoch, or the stream was reset under
      // us: hold it, and resubscribe so the server says which.
      this.held.set(message.seq, message)
      return { deliver: [], fill: !this.awaiting, duplicate: false }
    }
    if (message.seq <= this.lastSeq) return { deliver: [], fill: false, duplicate: true }
    if (this.syncUntil !== undefined) {
      this.held.set(message.seq, message)
      if (message.seq < this.syncUntil) return NOTHING
      this.syncUntil = undefined
      return { deliver: this.flush(), fill: false, duplicate: false }
    }
    if (message.seq === this.lastSeq + 1) return { deliver: this.drain([message]), fill: false, duplicate: false }
    if (this.held.has(message.seq)) return { deliver: [], fill: false, duplicate: true }
    this.held.set(message.seq, message)
    return { deliver: [], fill: !this.awaiting && message.seq > this.replayUntil, duplicate: false }
  }

  /** Forgets everything (unsubscribe). */
  reset(): void {
    this.epoch = undefined
    this.lastSeq = 0
    this.syncUntil = undefined
    this.replayUntil = 0
    this.quietUntil = 0
    this.awaiting = false
    this.held.clear()
  }

  /** Delivers `first`, then every held message that continues the sequence. */
  private drain(first: M[]): M[] {
    const out = first
    if (first.length > 0) this.lastSeq = first[first.length - 1]!.seq
    for (let next = this.held.get(this.lastSeq + 1); next; next = this.held.get(this.lastSeq + 1)) {
      this.held.delete(next.seq)
      this.lastSeq = next.seq
      out.push(next)
    }
    if (this.lastSeq >= this.replayUntil) this.replayUntil = 0
    return out
  }

  /** Delivers every held message of the current epoch above the last seq, in seq order, gaps or not. */
  private flush(): M[] {
    const out = [...this.held.values()].filter(m => m.epoch === this.epoch && m.seq > this.lastSeq).sort((a, b) => a.seq - b.seq)
    this.held.clear()
    if (out.length > 0) this.lastSeq = out[out.length - 1]!.seq
    return out
  }
}
