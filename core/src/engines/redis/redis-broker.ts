import type { Redis } from 'ioredis'
import { SwitchboardError } from '../../errors.js'
import type { Logger } from '../../observability/logger.js'
import type { Broker, BrokerListener } from '../broker.js'
import { checkPrefix, closeClient, isRedisClient, openClient, type RedisSource } from './redis-connection.js'
import { ListenerSet } from './listener-set.js'
import { LOST, RedisLink } from './redis-link.js'
import { RedisSubscriptions } from './redis-subscriptions.js'

/**
 * A {@link RedisBroker}'s state: `connecting` (first connection, or resubscribing after a
 * reconnect: publishes wait), `live` (both connections up, every channel subscribed), `down` (a
 * connection is lost: this node's own subscribers are still served), `closed`.
 */
export type RedisBrokerState = 'connecting' | 'live' | 'down' | 'closed'

/** Options of {@link RedisBroker}. */
export interface RedisBrokerOptions {
  /**
   * A client to duplicate (it is left open by `close()`), connection options or a URL. The
   * broker opens two connections of its own; their backoff is the client's `retryStrategy`.
   */
  redis: RedisSource
  /** Prefix of every Redis channel (`SWITCHBOARD_REDIS_PREFIX`): channel `c` is `<prefix>:ch:<c>`. Default: `'sb'`. */
  prefix?: string
  /** Use sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`, Redis ≥ 7) instead of `PUBLISH`/`SUBSCRIBE`. Default: false. */
  sharded?: boolean
  /** Receives connection errors (warn) and listener errors (error). Default: none. */
  logger?: Logger
}

/** Counters of a {@link RedisBroker}, for metrics and tests. */
export interface RedisBrokerStats {
  /** Payloads received from Redis, all channels. */
  readonly received: number
  /** Of those, payloads for channels not subscribed (in flight across an unsubscribe); stays near 0. */
  readonly unexpected: number
  /** Payloads Redis confirmed as published. */
  readonly published: number
  /** Payloads handed straight to this node's listener because Redis was unreachable. */
  readonly local: number
  /** Times the subscriber connection came back and resubscribed every channel. */
  readonly reconnects: number
}

/**
 * A {@link Broker} over Redis pub/sub. Each node subscribes, on one subscriber connection, only
 * to the channels its hub asks for, so it receives no traffic for channels it does not serve;
 * it publishes on a second connection, so one node's payloads keep their publish order across
 * channels. A payload is sent once, as the string given.
 *
 * When a connection drops, ioredis reconnects with the client's `retryStrategy` (backoff) while
 * the broker is `down`: publishes reach this node's own subscribers directly (and other nodes if
 * the publisher connection is still up), `subscribe` resolves at once. When the subscriber is
 * back, the broker subscribes again to every channel (`connecting`; publishes wait), turns
 * `live`, then calls the {@link RedisBroker.onReconnect} listeners: payloads published
 * meanwhile were lost and the hub closes those gaps from the message store. Payloads are
 * delivered at most once; one published while a connection drops rejects with `INTERNAL`
 * (other nodes may or may not have it). Only across the drop of the publisher connection alone
 * may a payload served directly overtake this node's own earlier one still on its way back.
 */
export class RedisBroker implements Broker {
  readonly #pub: RedisLink
  readonly #subscriptions: RedisSubscriptions
  readonly #sharded: boolean
  readonly #namePrefix: string
  readonly #logger: Logger | undefined
  /** Publishes sent to Redis while `down`, awaited before resubscribing so none echoes back. */
  readonly #downPublishes = new Set<Promise<unknown>>()
  readonly #waiters = new Set<() => void>()
  readonly #reconnectListeners: ListenerSet<[]>
  readonly #stateListeners: ListenerSet<[RedisBrokerState]>
  #reported: RedisBrokerState = 'connecting'
  readonly #stats = { published: 0, local: 0 }
  #listener: BrokerListener | undefined
  /** Tail of publishes waiting for the connections, so they go out in call order. */
  #queue: Promise<void> | undefined
  #closing: Promise<void> | undefined

  /** Opens both connections at once. Throws `CONFIG_INVALID` when `prefix` is empty. */
  constructor(options: RedisBrokerOptions) {
    const prefix = checkPrefix(options.prefix ?? 'sb')
    this.#namePrefix = `${prefix}:ch:`
    this.#sharded = options.sharded ?? false
    const logger = (this.#logger = options.logger)
    this.#reconnectListeners = new ListenerSet((error) => logger?.error({ err: error }, 'Redis broker reconnect listener threw'))
    this.#stateListeners = new ListenerSet((error) => logger?.error({ err: error }, 'Redis broker state listener threw'))
    const name = connectionName(options.redis, prefix)
    const open = (role: string): Redis =>
      openClient(options.redis, {
        connectionName: `${name}:broker-${role}`,
        enableOfflineQueue: false,
        autoResendUnfulfilledCommands: false,
        autoResubscribe: false,
      })
    const onError = (role: string) => (error: unknown) => logger?.warn({ err: error, role }, 'Redis broker connection error')
    this.#pub = new RedisLink(open('pub'), () => this.#changed(), onError('pub'))
    const sub = new RedisLink(open('sub'), () => this.#subscriptions.linkChanged(), onError('sub'))
    this.#subscriptions = new RedisSubscriptions(sub, {
      namePrefix: this.#namePrefix,
      sharded: this.#sharded,
      logger,
      deliver: (channel, payload) => this.#deliver(channel, payload),
      beforeResubscribe: async () => {
        await Promise.all(this.#downPublishes)
      },
      changed: (reconnected) => {
        this.#changed()
        if (reconnected) this.#reconnectListeners.emit()
      },
    })
  }

  /** The current state (see {@link RedisBrokerState}). */
  get state(): RedisBrokerState {
    if (this.#closing !== undefined) return 'closed'
    if (this.#subscriptions.down || this.#pub.state === 'down') return 'down'
    return this.#subscriptions.live && this.#pub.state === 'ready' ? 'live' : 'connecting'
  }

  /** True when `live`: both connections up and every channel subscribed (for readiness probes). */
  get ready(): boolean {
    return this.state === 'live'
  }

  /**
   * Publishes `payload` to every node subscribed to `channel`; resolves once Redis took it (at
   * once when `down`). Waits while `connecting`. Rejects with `CLOSED` after `close()`, with
   * `INTERNAL` when the connection dropped before Redis confirmed.
   */
  publish(channel: string, payload: string): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new SwitchboardError('CLOSED'))
    if (this.#queue === undefined && this.state !== 'connecting') return this.#send(channel, payload)
    let sent: Promise<void> = Promise.resolve()
    const issued = (this.#queue ?? Promise.resolve())
      .then(() => this.#settled())
      .then(() => {
        sent = this.#send(channel, payload)
      })
    this.#queue = issued
    void issued.then(() => {
      if (this.#queue === issued) this.#queue = undefined
    })
    return issued.then(() => sent)
  }

  /**
   * Subscribes this node to `channel`; resolves once Redis confirmed (at once when `down`: the
   * channel is subscribed on reconnect). Idempotent. Rejects with `CLOSED` after `close()`.
   */
  subscribe(channel: string): Promise<void> {
    return this.#subscriptions.subscribe(channel)
  }

  /** Unsubscribes this node from `channel`: nothing more is delivered for it. Idempotent; does nothing after `close()`. */
  async unsubscribe(channel: string): Promise<void> {
    await this.#subscriptions.unsubscribe(channel)
  }

  /** Sets the one listener; it replaces any earlier one. Payloads arriving with no listener are dropped. */
  setListener(listener: BrokerListener): void {
    this.#listener = listener
  }

  /**
   * Registers `listener`, called each time the subscriber connection came back and every
   * channel is subscribed again: payloads published while it was lost were not received, so the
   * hub should close the gap of each local subscription from the message store. Returns a
   * function that removes the listener.
   */
  onReconnect(listener: () => void): () => void {
    return this.#reconnectListeners.add(listener)
  }

  /**
   * Registers `listener`, called with the new state each time it changes (for readiness and
   * logs). Returns a function that removes the listener.
   */
  onStateChange(listener: (state: RedisBrokerState) => void): () => void {
    return this.#stateListeners.add(listener)
  }

  /** The channels this node is subscribed to, sorted. */
  channels(): string[] {
    return this.#subscriptions.channels()
  }

  /** Payloads received from Redis for `channel` since it was subscribed (0 when it is not). */
  receivedCount(channel: string): number {
    return this.#subscriptions.receivedCount(channel)
  }

  /** A copy of the counters. */
  stats(): RedisBrokerStats {
    return { ...this.#subscriptions.stats, ...this.#stats }
  }

  /**
   * Stops delivery at once, rejects waiting publishes and subscribes with `CLOSED`, then quits
   * the subscriber and the publisher connections (QUIT when connected, so replies in flight
   * arrive first). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#listener = undefined
      this.#subscriptions.close()
      this.#changed()
      await closeClient(this.#subscriptions.client)
      await closeClient(this.#pub.client)
    })()
    return this.#closing
  }

  /** Sends when live, else (down) serves this node's subscribers directly. */
  async #send(channel: string, payload: string): Promise<void> {
    const state = this.state
    if (state === 'closed') throw new SwitchboardError('CLOSED')
    const name = this.#namePrefix + channel
    const publish = (client: Redis): Promise<unknown> =>
      this.#sharded ? client.spublish(name, payload) : client.publish(name, payload)
    if (state === 'live') {
      if ((await this.#pub.send(publish)) === LOST) {
        throw new SwitchboardError('INTERNAL', 'The Redis connection dropped before the publish was confirmed.')
      }
      this.#stats.published += 1
      return
    }
    if (this.#subscriptions.has(channel)) {
      this.#stats.local += 1
      queueMicrotask(() => {
        if (this.#subscriptions.has(channel)) this.#deliver(channel, payload)
      })
    }
    if (this.#pub.state !== 'ready') return
    const sent = this.#pub.send(publish).catch((error: unknown) => {
      this.#logger?.warn({ err: error, channel }, 'Redis publish failed while the subscriber was down')
    })
    this.#downPublishes.add(sent)
    void sent.then(() => this.#downPublishes.delete(sent))
  }

  #deliver(channel: string, payload: string): void {
    if (this.#listener === undefined || this.#closing !== undefined) return
    try {
      this.#listener(channel, payload)
    } catch (error) {
      // Never let it propagate into ioredis's reply parser.
      this.#logger?.error({ err: error, channel }, 'Redis broker listener threw')
    }
  }

  /** Resolves once the state is no longer `connecting`. */
  async #settled(): Promise<void> {
    while (this.state === 'connecting') await new Promise<void>((resolve) => this.#waiters.add(resolve))
  }

  /** Wakes publishes waiting for a state change and tells the state listeners, if it changed. */
  #changed(): void {
    const waiters = [...this.#waiters]
    this.#waiters.clear()
    for (const wake of waiters) wake()
    const state = this.state
    if (state === this.#reported) return
    this.#reported = state
    this.#stateListeners.emit(state)
  }
}

/** The base of the broker's connection names: the given client's name, else the prefix. */
function connectionName(source: RedisSource, prefix: string): string {
  if (typeof source === 'string') return prefix
  return (isRedisClient(source) ? source.options.connectionName : source.connectionName) ?? prefix
}
