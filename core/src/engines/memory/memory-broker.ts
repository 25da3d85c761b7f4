import { SwitchboardError } from '../../errors.js'
import type { Broker, BrokerListener } from '../broker.js'

/** Receives, synchronously, every payload the bus carries for the channels it is attached to. */
export type MemoryBusReceiver = (channel: string, payload: string) => void

/**
 * The in-process "network" shared by {@link MemoryBroker}s. Brokers built on one bus behave
 * like nodes of one cluster, which lets tests run several nodes in one process. The bus hands
 * payloads over synchronously and in call order; brokers make delivery asynchronous.
 *
 * A channel with one receiver (the usual case: one broker per process) holds it directly, not
 * in a set, which keeps an idle subscription small.
 */
export class MemoryBus {
  readonly #channels = new Map<string, MemoryBusReceiver | Set<MemoryBusReceiver>>()

  /** Attaches `receiver` to `channel` (idempotent). Used by {@link MemoryBroker}. */
  attach(channel: string, receiver: MemoryBusReceiver): void {
    const current = this.#channels.get(channel)
    if (current === undefined) this.#channels.set(channel, receiver)
    else if (typeof current === 'function') {
      if (current !== receiver) this.#channels.set(channel, new Set([current, receiver]))
    } else current.add(receiver)
  }

  /** Detaches `receiver` from `channel` (idempotent); a channel with no receivers left is forgotten. */
  detach(channel: string, receiver: MemoryBusReceiver): void {
    const current = this.#channels.get(channel)
    if (current === receiver) this.#channels.delete(channel)
    else if (current instanceof Set && current.delete(receiver) && current.size === 1) {
      this.#channels.set(channel, current.values().next().value as MemoryBusReceiver)
    }
  }

  /** Hands `payload` to every receiver attached to `channel`, synchronously, in attach order. */
  dispatch(channel: string, payload: string): void {
    const receivers = this.#channels.get(channel)
    if (receivers === undefined) return
    if (typeof receivers === 'function') return receivers(channel, payload)
    // A copy, so a receiver that detaches (or attaches) during dispatch cannot skip another.
    for (const receiver of [...receivers]) receiver(channel, payload)
  }

  /** Whether any receiver is attached to `channel`. */
  has(channel: string): boolean {
    return this.#channels.has(channel)
  }

  /** How many channels have at least one receiver (0 once everything is unsubscribed; for leak tests). */
  get channelCount(): number {
    return this.#channels.size
  }
}

/** Options of {@link MemoryBroker}. */
export interface MemoryBrokerOptions {
  /** The bus shared with other "nodes". Default: a private bus, so the broker only reaches itself. */
  bus?: MemoryBus
  /**
   * Called when the listener throws; delivery to other nodes and of later payloads goes on.
   * Must not throw. Default: `process.emitWarning` with the error.
   */
  onError?: (error: unknown, channel: string) => void
}

/**
 * A {@link Broker} for single-process use and tests: real fan-out over a {@link MemoryBus},
 * never a mock. Payloads reach listeners asynchronously (one microtask per delivery) and, as
 * microtasks run in order, in publish order per publisher, across channels too. A payload
 * in flight when its channel is unsubscribed, or when the broker closes, is dropped.
 */
export class MemoryBroker implements Broker {
  readonly #bus: MemoryBus
  readonly #onError: (error: unknown, channel: string) => void
  /**
   * Channels this broker is subscribed to, each with the number of its subscription: a payload
   * is delivered only if the subscription it was dispatched to is still the current one.
   */
  readonly #subscriptions = new Map<string, number>()
  #subscriptionCount = 0
  #listener: BrokerListener | undefined
  #closed = false

  constructor(options: MemoryBrokerOptions = {}) {
    this.#bus = options.bus ?? new MemoryBus()
    this.#onError = options.onError ?? warn
  }

  /**
   * Publishes `payload` to every broker on the bus subscribed to `channel`, this one included.
   * The payload is handed to the bus before this returns, so call order is publish order
   * even when the promise is not awaited. Rejects with `CLOSED` after `close()`.
   */
  async publish(channel: string, payload: string): Promise<void> {
    if (this.#closed) throw new SwitchboardError('CLOSED')
    this.#bus.dispatch(channel, payload)
  }

  /**
   * Whether any broker on the bus is subscribed to `channel`. True after `close()`, so that a
   * publish is still attempted and rejects with `CLOSED`.
   */
  hasSubscribers(channel: string): boolean {
    return this.#closed || this.#bus.has(channel)
  }

  /** Subscribes this broker to `channel` (idempotent; in effect on return). Rejects with `CLOSED` after `close()`. */
  async subscribe(channel: string): Promise<void> {
    if (this.#closed) throw new SwitchboardError('CLOSED')
    if (this.#subscriptions.has(channel)) return
    this.#subscriptions.set(channel, ++this.#subscriptionCount)
    this.#bus.attach(channel, this.#receive)
  }

  /** The bus hands a payload over: deliver it on a microtask if this subscription still stands then. */
  readonly #receive = (channel: string, payload: string): void => {
    const subscription = this.#subscriptions.get(channel)
    queueMicrotask(() => {
      if (subscription !== undefined && this.#subscriptions.get(channel) === subscription) this.#deliver(channel, payload)
    })
  }

  /** Unsubscribes this broker from `channel` (idempotent; also after `close()`, when it does nothing). */
  async unsubscribe(channel: string): Promise<void> {
    if (!this.#subscriptions.delete(channel)) return
    this.#bus.detach(channel, this.#receive)
  }

  /** Sets the one listener; it replaces any earlier one. Payloads arriving with no listener are dropped. */
  setListener(listener: BrokerListener): void {
    this.#listener = listener
  }

  /** The channels this broker is subscribed to, sorted (introspection for tests). */
  channels(): string[] {
    return [...this.#subscriptions.keys()].sort()
  }

  /** Ends every subscription (newest first) and drops payloads in flight. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const channels = [...this.#subscriptions.keys()].reverse()
    this.#subscriptions.clear()
    for (const channel of channels) this.#bus.detach(channel, this.#receive)
    this.#listener = undefined
  }

  #deliver(channel: string, payload: string): void {
    const listener = this.#listener
    if (listener === undefined) return
    try {
      listener(channel, payload)
    } catch (error) {
      this.#onError(error, channel)
    }
  }
}

function warn(error: unknown, channel: string): void {
  const message = error instanceof Error ? error.message : String(error)
  const stack = error instanceof Error ? error.stack : undefined
  process.emitWarning(`MemoryBroker listener threw on channel "${channel}": ${message}`, {
    code: 'SWITCHBOARD_BROKER_LISTENER',
    ...(stack === undefined ? {} : { detail: stack }),
  })
}
