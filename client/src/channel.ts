import type { PresenceMember, StreamPosition } from './frames.js'
import type { PublishOptions, PublishResult } from './publisher.js'
import type { ChannelEvents, ChannelMessage, SubscribedEvent, Subscription, SubscriptionState } from './subscription.js'

/** Options of `channel.history()`. */
export interface HistoryOptions {
  /** Only messages with a smaller seq (page backwards from here). Default: the latest. */
  before?: number
  /** How many, 1..100. Default 50 (the server's default). */
  limit?: number
}

/** What a channel handle asks of its client besides its subscription. */
export interface ChannelActions {
  publish(channel: string, data: unknown, options?: PublishOptions): Promise<PublishResult>
  history(channel: string, options?: HistoryOptions): Promise<ChannelMessage[]>
  presence(channel: string): Promise<PresenceMember[]>
}

/**
 * A handle on one channel, typed by its payload `Data` (inferred from the client's channel map
 * and the name). `client.channel(name)` returns the same handle for the same name. Publishing,
 * history and presence need no subscription; messages and `join`/`leave` need `subscribe()`.
 */
export class Channel<Data = unknown> {
  readonly #subscription: Subscription<Data>
  readonly #actions: ChannelActions

  /** @internal Created by `client.channel()`. */
  constructor(subscription: Subscription<Data>, actions: ChannelActions) {
    this.#subscription = subscription
    this.#actions = actions
  }

  /** The channel name, e.g. `room:lobby`. */
  get name(): string {
    return this.#subscription.name
  }

  /** `unsubscribed`, `subscribing` (wanted, not yet confirmed on the current connection) or `subscribed`. */
  get state(): SubscriptionState {
    return this.#subscription.state
  }

  /** The epoch and seq of the last message delivered to the handlers (what a resume starts after). */
  get position(): StreamPosition | undefined {
    return this.#subscription.position
  }

  /**
   * Listens to `message`, `subscribed`, `join`, `leave` or `error` (see {@link ChannelEvents}).
   * Returns a function that removes the listener. A `message` handler may return a promise:
   * the next message (and the automatic ack) waits for it.
   */
  on<K extends keyof ChannelEvents<Data>>(event: K, listener: (payload: ChannelEvents<Data>[K]) => unknown): () => void {
    return this.#subscription.events.on(event, listener)
  }

  /** Removes a listener added with `on`. */
  off<K extends keyof ChannelEvents<Data>>(event: K, listener: (payload: ChannelEvents<Data>[K]) => unknown): void {
    this.#subscription.events.off(event, listener)
  }

  /**
   * Subscribes, now or as soon as the client is connected, and again after every reconnect
   * (resuming after the last delivered message). Resolves with the first `subscribed`.
   * @throws (rejects) the server's code (`FORBIDDEN`, `UNKNOWN_CHANNEL`, `TOO_MANY_SUBSCRIPTIONS`);
   *   `NOT_SUBSCRIBED` when `unsubscribe()` came first; `CLOSED`.
   */
  subscribe(): Promise<SubscribedEvent> {
    return this.#subscription.subscribe()
  }

  /** Unsubscribes (pending acks are sent first; messages not yet handled are dropped). Idempotent. */
  unsubscribe(): Promise<void> {
    return this.#subscription.unsubscribe()
  }

  /**
   * Publishes `data`; resolves with the message's `{ seq, mid }` once the server stored it.
   * Queued while disconnected and sent again after reconnects with the same idempotency key, so
   * it is stored once. See `PublishOptions` for `key` and `volatile`.
   * @throws (rejects) `VALIDATION` (with `details`), `FORBIDDEN`, `QUEUE_FULL`, `TOO_LARGE`,
   *   `DISCONNECTED` (volatile), `CLOSED`, or a retryable code after the last retry.
   */
  publish(data: Data, options?: PublishOptions): Promise<PublishResult> {
    return this.#actions.publish(this.name, data, options)
  }

  /**
   * Stored messages, oldest first: the `limit` (default 50, at most 100) before `before` (default:
   * the latest). Waits for a connection. Empty for channels that are not persisted.
   * @throws (rejects) `FORBIDDEN`, `UNKNOWN_CHANNEL`, `REQUEST_TIMEOUT`, `CLOSED`.
   */
  history(options?: HistoryOptions): Promise<ChannelMessage<Data>[]> {
    return this.#actions.history(this.name, options) as Promise<ChannelMessage<Data>[]>
  }

  /**
   * Who is subscribed (channels with presence on). Waits for a connection.
   * @throws (rejects) `FORBIDDEN` (also when presence is off), `REQUEST_TIMEOUT`, `CLOSED`.
   */
  presence(): Promise<PresenceMember[]> {
    return this.#actions.presence(this.name)
  }

  /**
   * Acknowledges every message up to `seq` as processed (cumulative, batched). Needed in
   * `ackMode: 'manual'`; on at-least-once channels unacked messages are delivered again later
   * (on another connection or after `ackTimeoutMs`).
   * @throws SwitchboardClientError `BAD_FRAME` when `seq` is not a positive integer.
   */
  ack(seq: number): void {
    this.#subscription.ack(seq)
  }

  /** Resolves once every message delivered so far was handled (handlers returned or resolved). */
  idle(): Promise<void> {
    return this.#subscription.idle()
  }
}
