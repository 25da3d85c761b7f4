import type { Logger } from 'pino'
import type { Broker } from '../engines/broker.js'
import { SwitchboardError } from '../errors.js'
import { PreparedFrame } from '../protocol/prepared-frame.js'
import type { ServerFrame } from '../protocol/frames.js'
import type { StoredMessage } from '../engines/store.js'
import type { Session } from '../transport/session.js'

/**
 * Broker channels named `$user:<id>` carry messages for one user's connections (redeliveries);
 * `$` cannot start a client channel name, so they never collide with an app's channels.
 */
export const USER_CHANNEL_PREFIX = '$user:'

/**
 * Where missing messages of persisted channels come from. Broker delivery is at-most-once: a
 * subscriber that sees a seq jump, or a node whose broker reconnected, reads the gap from here.
 */
export interface GapSource {
  /** Whether `channel` is persisted (only those can be filled). */
  isPersisted(channel: string): boolean
  /** Messages after `afterSeq`, ascending, at most `limit` (the message store). */
  range(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]>
}

/** Messages read per query while filling a gap. */
const FILL_PAGE = 500
/** A failed gap fill is tried again after this long (ms), up to {@link FILL_ATTEMPTS} times (the store may be restarting). */
const FILL_RETRY_MS = 250
const FILL_ATTEMPTS = 40

/** A page of stored messages as a gap fill sends them: each seq with its prepared `message` frame. */
type FillPage = { readonly seq: number; readonly frame: PreparedFrame }[]

/** One local subscriber of a channel. */
export interface Subscriber {
  /** Highest seq sent to this subscriber on this channel (to drop repeats at the replay seam). */
  lastSeq: number
  /** Live messages held back while the subscriber's replay runs; undefined once live. */
  pending: PreparedFrame[] | undefined
}

/**
 * This node's subscribers per channel, and its subscriptions on the broker: the first local
 * subscriber of a channel subscribes the node, the last one leaving unsubscribes it. Payloads
 * from the broker are parsed once and sent to every local subscriber as one `PreparedFrame`
 * (encoded once per codec). A subscriber that is replaying history gets live messages held back,
 * then released in order with repeats dropped, so the seam has no gap and no duplicate.
 */
export class SubscriptionTable {
  private readonly channels = new Map<string, Map<Session, Subscriber>>()
  /** Broker subscribe/unsubscribe in flight per channel, so they apply in order. */
  private readonly brokerOps = new Map<string, Promise<void>>()
  /** Gap-fill pages being read, by channel, seq after and limit (see `readFillPage`). */
  private readonly fillReads = new Map<string, Promise<FillPage>>()

  constructor(
    private readonly broker: Broker,
    private readonly logger: Logger,
    private readonly gaps?: GapSource,
    /** Receives, once per broadcast message, the seconds since its commit (`ts`). */
    private readonly observeLatency?: (seconds: number) => void,
  ) {
    broker.setListener((channel, payload) => this.deliver(channel, payload))
  }

  /** Local subscribers of `channel`. */
  count(channel: string): number {
    return this.channels.get(channel)?.size ?? 0
  }

  /** Channels with at least one local subscriber. */
  get channelCount(): number {
    return this.channels.size
  }

  /**
   * Adds `session` to `channel` in replay mode (live messages are held back until `goLive`).
   * Resolves once the node receives the channel's broker traffic.
   */
  async add(channel: string, session: Session): Promise<void> {
    let subscribers = this.channels.get(channel)
    if (subscribers?.has(session)) {
      // A resubscribe: replay again from where the client asks, without touching the broker.
      subscribers.set(session, { lastSeq: 0, pending: [] })
      return
    }
    const first = !subscribers
    if (!subscribers) {
      subscribers = new Map()
      this.channels.set(channel, subscribers)
    }
    subscribers.set(session, { lastSeq: 0, pending: [] })
    if (!first) {
      await this.brokerOps.get(channel)
      if (this.channels.get(channel)?.has(session)) return
      throw new SwitchboardError('INTERNAL', 'The subscription could not be set up.')
    }
    try {
      await this.brokerOp(channel, () => this.broker.subscribe(channel))
    } catch (err) {
      // Nobody on this node can receive the channel: drop everyone who joined meanwhile.
      if (this.channels.get(channel) === subscribers) this.channels.delete(channel)
      throw new SwitchboardError('INTERNAL', 'The subscription could not be set up.', { cause: err })
    }
  }

  /** `session`'s subscriber entry on `channel` (what a resubscribe replaces), if any. */
  subscriber(channel: string, session: Session): Subscriber | undefined {
    return this.channels.get(channel)?.get(session)
  }

  /**
   * Puts back the entry a resubscribe replaced (the resubscribe failed): `session` goes on as it
   * did before, and the live messages held back meanwhile are passed to it (or held on, when the
   * old entry is itself still held back). Does nothing when `session` left `channel` meanwhile.
   */
  restore(channel: string, session: Session, previous: Subscriber): void {
    const subscribers = this.channels.get(channel)
    const current = subscribers?.get(session)
    if (!subscribers || !current || current === previous) return
    subscribers.set(session, previous)
    for (const frame of current.pending ?? []) {
      if (previous.pending) previous.pending.push(frame)
      else this.sendMessage(session, previous, frame)
    }
  }

  /** Records that `seq` was sent to `session` during replay. */
  markSent(channel: string, session: Session, seq: number): void {
    const subscriber = this.channels.get(channel)?.get(session)
    if (subscriber && seq > subscriber.lastSeq) subscriber.lastSeq = seq
  }

  /** Ends replay: sends the held-back live messages newer than the replay, then passes live traffic. */
  goLive(channel: string, session: Session): void {
    const subscriber = this.channels.get(channel)?.get(session)
    if (!subscriber?.pending) return
    const held = subscriber.pending
    subscriber.pending = undefined
    for (const frame of held) this.sendMessage(session, subscriber, frame)
  }

  /** Removes `session` from `channel`; resolves true when it was subscribed. */
  async remove(channel: string, session: Session): Promise<boolean> {
    const subscribers = this.channels.get(channel)
    if (!subscribers?.delete(session)) return false
    if (subscribers.size === 0) {
      this.channels.delete(channel)
      await this.brokerOp(channel, async () => {
        // A subscriber may have arrived while the previous operation ran.
        if (!this.channels.has(channel)) await this.broker.unsubscribe(channel)
      }).catch(err => this.logger.error({ err, channel }, 'broker unsubscribe failed'))
    }
    return true
  }

  /**
   * Publishes a frame to every node's subscribers of `channel` (this node's too), encoded once;
   * not even encoded when the broker knows nobody is subscribed (see `Broker.hasSubscribers`).
   */
  publish(channel: string, frame: ServerFrame): Promise<void> {
    if (this.broker.hasSubscribers?.(channel) === false) return Promise.resolve()
    return this.broker.publish(channel, JSON.stringify(frame))
  }

  /**
   * Publishes `message` as a `message` frame (see {@link publish}); returns nothing, and builds
   * no frame, when the broker knows nobody is subscribed to its channel.
   */
  publishMessage(message: StoredMessage): Promise<void> | undefined {
    if (this.broker.hasSubscribers?.(message.channel) === false) return undefined
    return this.broker.publish(message.channel, JSON.stringify({ type: 'message', ...message }))
  }

  /** Sends `message` again to `user`'s connections on every node that are subscribed to its channel. */
  redeliver(user: string, message: StoredMessage): Promise<void> {
    return this.broker.publish(USER_CHANNEL_PREFIX + user, JSON.stringify({ type: 'redeliver', message }))
  }

  /** Adds a connection to its user's channel (live at once), so redeliveries reach it. Idempotent. */
  async addUserConnection(session: Session): Promise<void> {
    const channel = USER_CHANNEL_PREFIX + session.user
    if (this.channels.get(channel)?.has(session)) return
    await this.add(channel, session)
    this.goLive(channel, session)
  }

  /** Removes a connection from its user's channel. Idempotent. */
  removeUserConnection(session: Session): Promise<boolean> {
    return this.remove(USER_CHANNEL_PREFIX + session.user, session)
  }

  /** Each channel with local subscribers (user channels aside), with its subscribed sessions. */
  *channelSessions(): IterableIterator<[string, Session[]]> {
    for (const [channel, sessions] of this.channels) if (!channel.startsWith(USER_CHANNEL_PREFIX)) yield [channel, [...sessions.keys()]]
  }

  /** The connections of users with at-least-once subscriptions on this node. */
  *userConnections(): IterableIterator<Session> {
    for (const [channel, sessions] of this.channels) if (channel.startsWith(USER_CHANNEL_PREFIX)) yield* sessions.keys()
  }

  private deliver(channel: string, payload: string): void {
    const subscribers = this.channels.get(channel)
    if (!subscribers) return
    if (channel.startsWith(USER_CHANNEL_PREFIX)) return this.deliverToUser(subscribers, payload)
    const frame = PreparedFrame.fromJson(payload)
    if (this.observeLatency && frame.frame.type === 'message') this.observeLatency((Date.now() - frame.frame.ts) / 1000)
    if (frame.frame.type !== 'message') {
      for (const session of subscribers.keys()) session.sendPrepared(frame)
      return
    }
    const persisted = this.gaps?.isPersisted(channel) ?? false
    for (const [session, subscriber] of subscribers) {
      if (subscriber.pending) subscriber.pending.push(frame)
      else this.sendMessage(session, subscriber, frame, persisted)
    }
  }

  /**
   * A redelivery for one user: sent to that user's local connections whose subscription to the
   * message's channel is live. One still being set up or replaying is skipped: its `subscribed`
   * comes first, and its replay (from the acked cursor) carries the message anyway.
   */
  private deliverToUser(sessions: Map<Session, Subscriber>, payload: string): void {
    const { message } = JSON.parse(payload) as { type: 'redeliver'; message: StoredMessage }
    const subscribers = this.channels.get(message.channel)
    if (!subscribers) return
    const frame = new PreparedFrame({ type: 'message', ...message })
    for (const session of sessions.keys()) {
      const subscriber = subscribers.get(session)
      if (subscriber !== undefined && subscriber.pending === undefined) session.sendPrepared(frame)
    }
  }

  /**
   * Sends a live message. On persisted channels seqs are dense and committed in order, so a
   * seq at or below the last one sent was already sent (by the replay or a gap fill) and is
   * dropped, and a jump means messages were lost or are still on their way from another node:
   * they are read from the store first. Channels that are not persisted have no such order
   * across nodes, so their messages are passed on as they come.
   */
  private sendMessage(session: Session, subscriber: Subscriber, frame: PreparedFrame, persisted?: boolean): void {
    const { seq, channel } = frame.frame as { seq: number; channel: string }
    if (!(persisted ?? this.gaps?.isPersisted(channel))) {
      subscriber.lastSeq = Math.max(subscriber.lastSeq, seq)
      session.sendPrepared(frame)
      return
    }
    if (seq <= subscriber.lastSeq) return
    if (seq > subscriber.lastSeq + 1) {
      subscriber.pending = [frame]
      void this.fill(channel, session, subscriber, seq - 1)
      return
    }
    subscriber.lastSeq = seq
    session.sendPrepared(frame)
  }

  /**
   * Closes a subscriber's gap from the store: sends what lies after its last seq (up to
   * `untilSeq`, or everything stored), then releases the live messages held meanwhile.
   */
  private async fill(channel: string, session: Session, subscriber: Subscriber, untilSeq = Number.MAX_SAFE_INTEGER): Promise<void> {
    const current = (): boolean => !session.closed && this.channels.get(channel)?.get(session) === subscriber
    for (let attempt = 1; ; attempt++) {
      try {
        while (subscriber.lastSeq < untilSeq && !session.closed) {
          const page = await this.readFillPage(channel, subscriber.lastSeq, Math.min(FILL_PAGE, untilSeq - subscriber.lastSeq))
          if (page.length === 0) break
          for (const { seq, frame } of page) {
            if (seq <= subscriber.lastSeq) continue
            subscriber.lastSeq = seq
            session.sendPrepared(frame)
          }
        }
        break
      } catch (err) {
        this.logger.error({ err, channel, attempt }, 'filling a gap from the store failed')
        // Live messages stay held meanwhile; past the last attempt the next gap tries again.
        if (attempt >= FILL_ATTEMPTS || !current()) break
        await new Promise(resolve => setTimeout(resolve, FILL_RETRY_MS))
      }
    }
    if (this.channels.get(channel)?.get(session) === subscriber) this.goLive(channel, session)
  }

  /**
   * One page of a gap fill, read once for every subscriber that asks for the same page while it
   * is being read: a seq jump is seen by all of a channel's local subscribers in one delivery
   * loop, so they share one store query and one prepared frame per message (encoded once per
   * codec) instead of each querying the store.
   */
  private readFillPage(channel: string, afterSeq: number, limit: number): Promise<FillPage> {
    const key = `${channel}\u0000${afterSeq}\u0000${limit}`
    const reading = this.fillReads.get(key)
    if (reading !== undefined) return reading
    const read = this.gaps!.range(channel, afterSeq, limit).then(page => page.map(message => ({ seq: message.seq, frame: new PreparedFrame({ type: 'message', ...message }) })))
    this.fillReads.set(key, read)
    const forget = (): void => void this.fillReads.delete(key)
    read.then(forget, forget)
    return read
  }

  /**
   * Sends `session` what the store holds on `channel` after the last seq it got, holding live
   * messages back meanwhile (a replay that failed half-way). Does nothing when not subscribed.
   */
  refill(channel: string, session: Session): void {
    const subscriber = this.channels.get(channel)?.get(session)
    if (!subscriber || !this.gaps?.isPersisted(channel)) {
      if (subscriber) this.goLive(channel, session)
      return
    }
    subscriber.pending ??= []
    void this.fill(channel, session, subscriber)
  }

  /**
   * After the broker reconnected (it may have dropped messages meanwhile): every live subscriber
   * of a persisted channel gets what the store holds after its last seq.
   */
  refillAll(): void {
    for (const [channel, subscribers] of this.channels) {
      if (channel.startsWith(USER_CHANNEL_PREFIX) || !this.gaps?.isPersisted(channel)) continue
      for (const [session, subscriber] of subscribers) {
        // lastSeq 0 is a subscriber of a channel that was empty when it subscribed: it is filled from seq 1.
        if (subscriber.pending) continue
        subscriber.pending = []
        void this.fill(channel, session, subscriber)
      }
    }
  }

  /** Runs broker (un)subscriptions of one channel in order; the returned promise carries the op's own outcome. */
  private brokerOp(channel: string, op: () => Promise<void>): Promise<void> {
    const previous = this.brokerOps.get(channel) ?? Promise.resolve()
    const result = previous.then(op)
    const settled: Promise<void> = result
      .catch(() => {})
      .finally(() => {
        if (this.brokerOps.get(channel) === settled) this.brokerOps.delete(channel)
      })
    this.brokerOps.set(channel, settled)
    return result
  }
}
