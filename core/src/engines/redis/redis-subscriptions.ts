import type { Redis } from 'ioredis'
import { SwitchboardError } from '../../errors.js'
import type { Logger } from '../../observability/logger.js'
import { LOST, type RedisLink } from './redis-link.js'

/** What {@link RedisSubscriptions} needs from the broker that owns it. */
export interface RedisSubscriptionsOptions {
  /** The Redis channel of channel `c` is `namePrefix + c`. */
  readonly namePrefix: string
  /** `SSUBSCRIBE`/`SUNSUBSCRIBE` instead of `SUBSCRIBE`/`UNSUBSCRIBE`. */
  readonly sharded: boolean
  /** Receives an error for each channel Redis refuses when subscribing again after a reconnect. */
  readonly logger: Logger | undefined
  /** Receives each payload of a subscribed channel, synchronously, in arrival order. */
  deliver(channel: string, payload: string): void
  /** Resolves when nothing this node sent may still echo back once it is subscribed again. */
  beforeResubscribe(): Promise<void>
  /** Called when the subscriptions went live or were lost; `reconnected` after a resubscription. */
  changed(reconnected: boolean): void
}

/**
 * The subscriber connection of a {@link RedisBroker}: the channels the hub asked for, their
 * subscriptions on Redis, and the resubscription of all of them after a reconnect (ioredis's
 * own `autoResubscribe` is off: it replays what Redis last confirmed, not what is wanted now,
 * and says nothing when it is done).
 */
export class RedisSubscriptions {
  readonly #link: RedisLink
  readonly #options: RedisSubscriptionsOptions
  /** Channels the hub asked for, with payloads received since. */
  readonly #wanted = new Map<string, number>()
  /** Subscriptions waiting for Redis's confirmation, per channel. */
  readonly #confirming = new Map<string, Promise<void>>()
  /** Why Redis refused a channel a waiting subscription asked for, until that subscription rejects with it. */
  readonly #refused = new Map<string, unknown>()
  readonly #waiters = new Set<() => void>()
  /** The connection's loss count when every channel was last subscribed; -1 before that. */
  #subscribedAt = -1
  #closed = false
  /** Payloads received, for channels not subscribed too, and completed resubscriptions. */
  readonly stats = { received: 0, unexpected: 0, reconnects: 0 }

  /** Watches `link`'s client for payloads; call {@link RedisSubscriptions.linkChanged} on each change of `link`. */
  constructor(link: RedisLink, options: RedisSubscriptionsOptions) {
    this.#link = link
    this.#options = options
    const receive = (name: string, payload: string): void => this.#receive(name, payload)
    link.client.on(options.sharded ? 'smessage' : 'message', receive)
  }

  /** The subscriber connection's client. */
  get client(): Redis {
    return this.#link.client
  }

  /** True when the connection is up and every wanted channel is subscribed. */
  get live(): boolean {
    return this.#link.state === 'ready' && this.#subscribedAt === this.#link.losses
  }

  /** True while the connection is lost (channels are subscribed again when it is back). */
  get down(): boolean {
    return this.#link.state === 'down'
  }

  /** Whether `channel` is wanted. */
  has(channel: string): boolean {
    return this.#wanted.has(channel)
  }

  /** The wanted channels, sorted. */
  channels(): string[] {
    return [...this.#wanted.keys()].sort()
  }

  /** Payloads received for `channel` since it was subscribed (0 when it is not). */
  receivedCount(channel: string): number {
    return this.#wanted.get(channel) ?? 0
  }

  /** See `RedisBroker.subscribe`. */
  async subscribe(channel: string): Promise<void> {
    if (this.#closed) throw new SwitchboardError('CLOSED')
    if (this.#wanted.has(channel)) return this.#confirming.get(channel)
    this.#wanted.set(channel, 0)
    this.#refused.delete(channel)
    const confirmation = this.#confirm(channel)
    this.#confirming.set(channel, confirmation)
    try {
      await confirmation
    } catch (error) {
      // Refused (or closed): not subscribed, so a later subscribe tries again.
      if (this.#confirming.get(channel) === confirmation) this.#wanted.delete(channel)
      throw error
    } finally {
      if (this.#confirming.get(channel) === confirmation) this.#confirming.delete(channel)
    }
  }

  /** See `RedisBroker.unsubscribe`. */
  async unsubscribe(channel: string): Promise<void> {
    if (!this.#wanted.delete(channel)) return
    if (this.live) await this.#link.send((client) => this.#command(client, 'unsubscribe', channel))
  }

  /** Forgets every channel and fails waiting subscriptions with `CLOSED`; the owner closes the connection. */
  close(): void {
    this.#closed = true
    this.#wanted.clear()
    this.#wake()
  }

  /** To be called on each change of the link: starts the resubscription once it is ready. */
  linkChanged(): void {
    if (this.#link.state === 'ready' && !this.#closed) void this.#resubscribe(this.#link.losses)
    this.#wake()
    this.#options.changed(false)
  }

  /** Subscribes on Redis unless down (the reconnect does it then) or unsubscribed meanwhile. */
  async #confirm(channel: string): Promise<void> {
    for (;;) {
      if (this.#closed) throw new SwitchboardError('CLOSED')
      const refusal = this.#refused.get(channel)
      if (refusal !== undefined && this.#refused.delete(channel)) throw refusal
      if (!this.#wanted.has(channel) || this.down) return
      if (this.live && (await this.#link.send((client) => this.#command(client, 'subscribe', channel))) !== LOST) return
      // Not live, or lost before the link noticed: wait for the link's next change, never spin.
      if (this.#closed || !this.#wanted.has(channel) || this.down) continue
      await new Promise<void>((resolve) => this.#waiters.add(resolve))
    }
  }

  async #resubscribe(losses: number): Promise<void> {
    await this.#options.beforeResubscribe()
    const onRedis = new Set<string>()
    for (;;) {
      if (this.#link.losses !== losses || this.#closed) return
      const add = [...this.#wanted.keys()].filter((channel) => !onRedis.has(channel))
      const drop = [...onRedis].filter((channel) => !this.#wanted.has(channel))
      if (add.length === 0 && drop.length === 0) break
      // One command per channel, pipelined: a channel Redis refuses (ACL, cluster slot) fails alone.
      const replies = await Promise.all([
        ...add.map((channel) => this.#resend(channel, 'subscribe')),
        ...drop.map((channel) => this.#resend(channel, 'unsubscribe')),
      ])
      if (replies.includes(LOST)) return
      for (const channel of add) onRedis.add(channel)
      for (const channel of drop) onRedis.delete(channel)
    }
    const reconnected = this.#subscribedAt !== -1 || losses > 0
    this.#subscribedAt = losses
    if (reconnected) this.stats.reconnects += 1
    this.#wake()
    this.#options.changed(reconnected)
  }

  /** One (un)subscribe of a resubscription; a channel Redis refuses is dropped, with an error logged. */
  async #resend(channel: string, action: 'subscribe' | 'unsubscribe'): Promise<unknown> {
    try {
      return await this.#link.send((client) => this.#command(client, action, channel))
    } catch (error) {
      this.#options.logger?.error({ err: error, channel }, `Redis refused to ${action}; the channel is no longer served`)
      if (action === 'subscribe' && this.#wanted.delete(channel) && this.#confirming.has(channel)) this.#refused.set(channel, error)
      return undefined
    }
  }

  #command(client: Redis, action: 'subscribe' | 'unsubscribe', channel: string): Promise<unknown> {
    const name = this.#options.namePrefix + channel
    if (action === 'subscribe') return this.#options.sharded ? client.ssubscribe(name) : client.subscribe(name)
    return this.#options.sharded ? client.sunsubscribe(name) : client.unsubscribe(name)
  }

  #receive(name: string, payload: string): void {
    if (this.#closed || !name.startsWith(this.#options.namePrefix)) return
    this.stats.received += 1
    const channel = name.slice(this.#options.namePrefix.length)
    const count = this.#wanted.get(channel)
    if (count === undefined) {
      this.stats.unexpected += 1
      return
    }
    this.#wanted.set(channel, count + 1)
    this.#options.deliver(channel, payload)
  }

  #wake(): void {
    const waiters = [...this.#waiters]
    this.#waiters.clear()
    for (const wake of waiters) wake()
  }
}
