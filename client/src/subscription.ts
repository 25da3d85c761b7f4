import { AckBatcher } from './ack-batcher.js'
import { backoffDelay, type BackoffOptions } from './backoff.js'
import { DeliveryQueue } from './delivery-queue.js'
import { Emitter } from './emitter.js'
import { SwitchboardClientError } from './errors.js'
import type { MessageRecord, RequestFrame, ServerFrame, StreamPosition } from './frames.js'
import type { AckMode } from './options.js'
import { StreamCursor } from './stream-cursor.js'

/** A message as the application's handlers receive it. */
export type ChannelMessage<Data = unknown> = MessageRecord<Data>

/** The payload of a channel's `subscribed` event (after each subscribe, resubscribe or lossy gap fill). */
export interface SubscribedEvent {
  readonly channel: string
  /** The stream's epoch. */
  readonly epoch: string
  /** The channel's latest seq when the server subscribed. */
  readonly seq: number
  /**
   * True when every message after the last one delivered follows. False on a first subscribe,
   * and after a resume the server could not recover (history trimmed, new epoch, ephemeral
   * channel): messages may have been missed — reload state (e.g. with `history()`).
   */
  readonly recovered: boolean
  /** True when this was a resume with `since` (a resubscribe after a reconnect, or a gap fill). */
  readonly resumed: boolean
}

/** The payload of `join` and `leave` events (channels with presence). */
export interface PresenceEvent {
  readonly channel: string
  readonly user: string
}

/** Events of a channel. */
export interface ChannelEvents<Data> {
  /** A message, exactly once and in seq order. A handler may return a promise: the next message waits for it. */
  message: ChannelMessage<Data>
  /** The server confirmed a subscription (see {@link SubscribedEvent}). */
  subscribed: SubscribedEvent
  /** A user's first connection subscribed. */
  join: PresenceEvent
  /** A user's last connection left. */
  leave: PresenceEvent
  /** The server refused a resubscribe for good (`FORBIDDEN`, …): the channel is unsubscribed. */
  error: SwitchboardClientError
}

/** A subscription's state. */
export type SubscriptionState = 'unsubscribed' | 'subscribing' | 'subscribed'

/** What a subscription needs from its client. */
export interface ChannelHost {
  readonly backoff: BackoffOptions
  readonly ackDelayMs: number
  /** Whether a connection is ready for frames. */
  connected(): boolean
  /** Whether the client was closed. */
  closed(): boolean
  /** Sends a request on the current connection; rejects with `DISCONNECTED` when there is none or it drops. */
  request(frame: RequestFrame): Promise<ServerFrame>
  /** Sends an `ack` now; false when not connected. */
  sendAck(channel: string, seq: number): boolean
  /** Reports an error that has no promise to reject (a handler threw). */
  reportError(error: unknown, channel: string, seq?: number): void
}

interface Waiter {
  resolve(event: SubscribedEvent): void
  reject(error: SwitchboardClientError): void
}

/**
 * One channel's subscription: subscribes (again on every new connection, with `since`), feeds
 * the stream through a {@link StreamCursor} (dedupe, order, gap fills), hands messages to the
 * handlers one at a time, and acks them (automatically after the handlers, or manually).
 */
export class Subscription<Data = unknown> {
  /** The channel's events. */
  readonly events: Emitter<ChannelEvents<Data>>
  private readonly cursor = new StreamCursor<ChannelMessage<Data>>()
  private readonly queue: DeliveryQueue<ChannelMessage<Data>>
  private readonly acks: AckBatcher
  private wanted = false
  /** A `subscribe` went out on the current connection. */
  private sent = false
  /** The server confirmed the subscription on the current connection. */
  private active = false
  private generation = 0
  private waiters: Waiter[] = []
  private last: SubscribedEvent | undefined
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private retries = 0

  constructor(
    readonly name: string,
    private readonly host: ChannelHost,
    private readonly ackMode: AckMode,
  ) {
    this.events = new Emitter((error) => host.reportError(error, name))
    this.queue = new DeliveryQueue(
      message => this.handle(message),
      message => {
        // A message of an earlier epoch (handled after a reset of the stream) acks nothing: its
        // seq would count in the new numbering, acknowledging messages not handled yet.
        if (this.ackMode === 'auto' && message.epoch === this.cursor.epoch) this.acks.mark(message.seq)
      },
      (error, message) => host.reportError(error, name, message.seq),
    )
    this.acks = new AckBatcher(seq => this.active && this.host.sendAck(name, seq), host.ackDelayMs)
  }

  /** `unsubscribed`, `subscribing` (wanted, not confirmed on the current connection) or `subscribed`. */
  get state(): SubscriptionState {
    if (!this.wanted) return 'unsubscribed'
    return this.active ? 'subscribed' : 'subscribing'
  }

  /** The last delivered position, once the server named the stream's epoch. */
  get position(): StreamPosition | undefined {
    return this.cursor.position()
  }

  /** Subscribes (idempotent); resolves with the first `subscribed`. Rejects with the server's code, or `CLOSED`. */
  subscribe(): Promise<SubscribedEvent> {
    if (this.host.closed()) return Promise.reject(new SwitchboardClientError('CLOSED', 'The client was closed.'))
    if (this.wanted && this.active && this.last) return Promise.resolve(this.last)
    const promise = new Promise<SubscribedEvent>((resolve, reject) => this.waiters.push({ resolve, reject }))
    if (!this.wanted) {
      this.wanted = true
      if (this.host.connected()) this.send('resume')
    }
    return promise
  }

  /** Unsubscribes (idempotent): pending acks go out first; waiting messages are dropped. */
  async unsubscribe(): Promise<void> {
    if (!this.wanted) return
    this.acks.flush()
    const sent = this.sent
    this.stop(new SwitchboardClientError('NOT_SUBSCRIBED', `Unsubscribed from "${this.name}" before the subscription completed.`))
    if (sent && this.host.connected()) await this.host.request({ type: 'unsubscribe', channel: this.name }).catch(() => {})
  }

  /** Acknowledges everything up to `seq` (cumulative; batched). */
  ack(seq: number): void {
    if (!Number.isInteger(seq) || seq < 1) throw new SwitchboardClientError('BAD_FRAME', `ack: expected a positive integer seq, got ${String(seq)}`)
    this.acks.mark(seq)
  }

  /** Resolves once every delivered message was handled (tests, graceful shutdown). */
  idle(): Promise<void> {
    return this.queue.idle()
  }

  /** A connection became ready: subscribe again, resuming after the last delivered message. */
  connected(): void {
    // `disconnected()` cleared `sent`: when it is set, a `connected` or `state` listener already
    // subscribed on this connection, and the subscribe is not sent twice.
    if (this.wanted && !this.sent) this.send('resume')
  }

  /** The connection dropped. Pending acks wait for the next one. */
  disconnected(): void {
    this.sent = false
    this.active = false
    this.cursor.subscribeFailed()
    this.acks.cancel()
    this.cancelRetry()
  }

  /** A `message`, `join` or `leave` frame for this channel. */
  receive(frame: ServerFrame): void {
    if (!this.wanted) return
    if (frame.type === 'join' || frame.type === 'leave') {
      this.events.emit(frame.type, { channel: this.name, user: String(frame['user']) })
      return
    }
    if (frame.type !== 'message') return
    const { type: _type, ...message } = frame
    const verdict = this.cursor.receive(message as unknown as ChannelMessage<Data>)
    if (verdict.duplicate) this.acks.resend()
    this.queue.push(verdict.deliver)
    if (verdict.fill && this.sent) this.send('fill')
  }

  /** Sends any pending ack now (before the client closes); returns whether one went out. */
  flushAcks(): boolean {
    return this.acks.flush()
  }

  /** The client closed: reject waiters with `error` and stop every timer. */
  close(error: SwitchboardClientError): void {
    this.stop(error)
    this.events.clear()
  }

  private stop(error: SwitchboardClientError): void {
    this.wanted = false
    this.sent = false
    this.active = false
    this.generation += 1
    this.last = undefined
    this.cancelRetry()
    this.cursor.reset()
    this.queue.clear()
    this.acks.reset()
    for (const waiter of this.waiters.splice(0)) waiter.reject(error)
  }

  private send(kind: 'resume' | 'fill'): void {
    this.cancelRetry()
    const { since, deliver } = kind === 'fill' ? { since: this.cursor.position(), deliver: [] } : this.cursor.resume()
    this.queue.push(deliver)
    this.cursor.subscribeSent()
    this.sent = true
    const generation = ++this.generation
    const frame: RequestFrame = since ? { type: 'subscribe', channel: this.name, since } : { type: 'subscribe', channel: this.name }
    this.host.request(frame).then(
      reply => this.subscribed(generation, reply, kind, since !== undefined),
      (error: SwitchboardClientError) => this.failed(generation, error),
    )
  }

  private subscribed(generation: number, reply: ServerFrame, kind: 'resume' | 'fill', resumed: boolean): void {
    if (generation !== this.generation || !this.wanted) return
    const epoch = String(reply['epoch'])
    if (this.cursor.epoch !== undefined && this.cursor.epoch !== epoch) this.acks.reset()
    const recovered = reply['recovered'] === true
    const { deliver, lost } = this.cursor.subscribed({ epoch, seq: Number(reply['seq']), recovered })
    this.active = true
    this.retries = 0
    const event: SubscribedEvent = { channel: this.name, epoch, seq: Number(reply['seq']), recovered, resumed }
    this.last = event
    if (kind === 'resume' || lost) this.events.emit('subscribed', event)
    for (const waiter of this.waiters.splice(0)) waiter.resolve(event)
    this.queue.push(deliver)
    this.acks.flush()
  }

  private failed(generation: number, error: SwitchboardClientError): void {
    if (generation !== this.generation) return
    this.cursor.subscribeFailed()
    if (!this.wanted || error.code === 'DISCONNECTED' || error.code === 'CLOSED') return
    if (error.retryable) {
      const delay = backoffDelay(this.retries++, this.host.backoff)
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined
        if (this.wanted && this.host.connected()) this.send('resume')
      }, delay)
      return
    }
    this.stop(error)
    this.events.emit('error', error)
  }

  private cancelRetry(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
  }

  private async handle(message: ChannelMessage<Data>): Promise<void> {
    const pending: unknown[] = []
    for (const listener of this.events.listenersOf('message')) {
      try {
        pending.push(listener(message))
      } catch (error) {
        this.host.reportError(error, this.name, message.seq)
      }
    }
    if (!pending.some(result => typeof (result as PromiseLike<unknown> | undefined)?.then === 'function')) return
    for (const outcome of await Promise.allSettled(pending)) {
      if (outcome.status === 'rejected') this.host.reportError(outcome.reason, this.name, message.seq)
    }
  }
}
