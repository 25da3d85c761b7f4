import type { Redis } from 'ioredis'
import { SwitchboardError } from '../../errors.js'
import type { Logger } from '../../observability/logger.js'
import type { Presence, PresenceMember } from '../presence.js'
import { ListenerSet } from './listener-set.js'
import { checkPrefix, closeClient, useClient, type RedisSource } from './redis-connection.js'
import { PRESENCE_SCRIPTS } from './redis-presence-scripts.js'

/** Options of {@link RedisPresence}. */
export interface RedisPresenceOptions {
  /** A client (used as it is, not closed by `close()`), connection options or a URL (a client of its own). */
  redis: RedisSource
  /** Prefix of every key (`SWITCHBOARD_REDIS_PREFIX`). Default: `'sb'`. */
  prefix?: string
  /** This node's id, unique in the cluster (`SWITCHBOARD_NODE_ID`); must not contain a NUL character. */
  nodeId: string
  /**
   * Upper bound, in ms, on how long the entries of a node that died stay visible to `add`
   * (`members` hides them sooner, once its heartbeat expired): the node beats every `ttlMs / 3`,
   * its heartbeat lives `2 * ttlMs / 3`, and live nodes sweep every `ttlMs / 3`. Default: 30000.
   */
  ttlMs?: number
  /** Receives failures of the background beat and sweep (warn) and listener errors (error). Default: none. */
  logger?: Logger
}

/** A user whose last connection in a channel went away with a dead node. */
export interface PresenceLeave {
  /** The channel the user left. */
  readonly channel: string
  /** The user id. */
  readonly user: string
}

/**
 * A {@link Presence} shared by every node using the same Redis and prefix. Per channel, a hash
 * of connections (`[user, connectionId]` → node and user) and a hash of per-user connection
 * counts, changed together by Lua scripts, so `add` is `true` exactly for the user's first
 * connection across all nodes and `remove` exactly for the last. Each node keeps a heartbeat
 * key with a TTL and an index of the channels it holds connections in; `members` ignores the
 * connections of nodes whose heartbeat expired, and the periodic {@link RedisPresence.sweep}
 * removes them, reporting each user who thereby left to the {@link RedisPresence.onLeave}
 * listeners (the hub announces `leave`). One timer drives this node's beat and sweep; `close()`
 * stops it. A node starting under an id already used removes what the earlier process left
 * before its first `add` (see the constructor). Nothing here is durable: see
 * {@link RedisPresence.onReset}.
 */
export class RedisPresence implements Presence {
  readonly #client: Redis
  readonly #owned: boolean
  readonly #prefix: string
  readonly #nodeId: string
  readonly #heartbeatMs: number
  readonly #logger: Logger | undefined
  readonly #leaveListeners: ListenerSet<[PresenceLeave]>
  readonly #resetListeners: ListenerSet<[]>
  readonly #timer: NodeJS.Timeout
  #tick: Promise<void> | undefined
  /** The sweep in progress, apart from the beat: a long sweep (a dead node with many channels, a slow Redis) must not delay the next beats past the heartbeat's TTL. */
  #sweeping: Promise<void> | undefined
  /** Set once this node's heartbeat was written: a heartbeat found missing after that means a reset. */
  #established = false
  /**
   * Settles once the entries an earlier process with this node id left are gone (see the
   * constructor); `add`, `remove` and `members` wait for it. Never rejects.
   */
  readonly #started: Promise<void>
  /** Leaves of the start-up cleanup found before any `onLeave` listener was registered, handed to the first one; undefined once one was. */
  #unannounced: PresenceLeave[] | undefined = []
  #closing: Promise<void> | undefined

  /** Starts the heartbeat at once. Throws `CONFIG_INVALID` for an empty prefix or nodeId, or a ttlMs below 3. */
  constructor(options: RedisPresenceOptions) {
    this.#prefix = checkPrefix(options.prefix ?? 'sb')
    this.#nodeId = checkNodeId(options.nodeId)
    const ttlMs = options.ttlMs ?? 30_000
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 3) {
      throw new SwitchboardError('CONFIG_INVALID', `ttlMs must be an integer of at least 3 (ms), got ${String(ttlMs)}.`)
    }
    this.#heartbeatMs = Math.ceil((2 * ttlMs) / 3)
    const logger = (this.#logger = options.logger)
    this.#leaveListeners = new ListenerSet((error) => logger?.error({ err: error }, 'presence leave listener threw'))
    this.#resetListeners = new ListenerSet((error) => logger?.error({ err: error }, 'presence reset listener threw'))
    const { client, owned } = useClient(options.redis)
    this.#client = client
    this.#owned = owned
    // A process restarted under the same node id (a crashed worker forked again, a container
    // restarted) finds its predecessor's connections here, under a heartbeat that may still be
    // alive, so no sweep would ever remove them: it removes them itself before anything else.
    // The first sweep waits for the first tick: a node starting gives the others time to beat.
    this.#started = this.#start()
    this.#timer = setInterval(() => this.#run(true), Math.floor(ttlMs / 3))
  }

  /** This node's id. */
  get nodeId(): string {
    return this.#nodeId
  }

  /** True while the Redis client is connected (for readiness probes). */
  get ready(): boolean {
    return this.#client.status === 'ready'
  }

  /**
   * Records the connection; resolves `true` when it is the user's first in the channel on any
   * node. Rejects with `CLOSED` after `close()`.
   */
  async add(channel: string, user: string, connectionId: string): Promise<boolean> {
    this.#assertOpen()
    await this.#started
    const node = this.#nodeId
    const keys = [this.#key('conns', channel), this.#key('users', channel), this.#index(node)]
    keys.push(this.#registry(), this.#heartbeat(node))
    const args = [field(user, connectionId), `${node}\0${user}`, user, channel, node, this.#heartbeatMs]
    const [added, revived] = (await PRESENCE_SCRIPTS.add.run(this.#client, keys, args)) as [number, number]
    if (revived === 1) this.#lostHeartbeat()
    return added === 1
  }

  /**
   * Removes the connection; resolves `true` when it was the user's last in the channel on any
   * node, `false` (changing nothing) when it was not present. Rejects with `CLOSED` after `close()`.
   */
  async remove(channel: string, user: string, connectionId: string): Promise<boolean> {
    this.#assertOpen()
    await this.#started
    const left = await PRESENCE_SCRIPTS.remove.run(
      this.#client,
      [this.#key('conns', channel), this.#key('users', channel), this.#index(this.#nodeId)],
      [field(user, connectionId), user, channel, this.#nodeId],
    )
    return left === 1
  }

  /**
   * The channel's members on live nodes, with connection counts, sorted by user id in code-unit
   * order; `[]` for an unknown channel. Rejects with `CLOSED` after `close()`.
   */
  async members(channel: string): Promise<PresenceMember[]> {
    this.#assertOpen()
    await this.#started
    const entries = Object.values(await this.#client.hgetall(this.#key('conns', channel))).map(splitValue)
    const nodes = [...new Set(entries.map((entry) => entry.node))]
    if (nodes.length === 0) return []
    const beats = await this.#client.mget(...nodes.map((node) => this.#heartbeat(node)))
    const alive = new Set(nodes.filter((_, i) => beats[i] !== null))
    const counts = new Map<string, number>()
    for (const { node, user } of entries) if (alive.has(node)) counts.set(user, (counts.get(user) ?? 0) + 1)
    return [...counts.keys()].sort().map((user) => ({ user, connections: counts.get(user) ?? 0 }))
  }

  /**
   * Removes the connections of every other node whose heartbeat expired, and resolves with the
   * users who thereby left a channel (each is reported once across the cluster, by the node
   * whose sweep removed them), after calling the `onLeave` listeners with each. Runs every
   * `ttlMs / 3` on its own. Rejects with `CLOSED` after `close()`.
   */
  async sweep(): Promise<PresenceLeave[]> {
    this.#assertOpen()
    return this.#sweep()
  }

  /**
   * Removes every connection of node `nodeId`, alive or not (for a clean shutdown of this node,
   * or a node known to be gone), and resolves with the users who thereby left, after calling
   * the `onLeave` listeners with each. Rejects with `CLOSED` after `close()`.
   */
  async removeNode(nodeId: string): Promise<PresenceLeave[]> {
    this.#assertOpen()
    return this.#purge(checkNodeId(nodeId), true)
  }

  /**
   * Registers `listener`, called for each user a sweep (or `removeNode`) made leave a channel.
   * Returns a function that removes it.
   */
  onLeave(listener: (leave: PresenceLeave) => void): () => void {
    const remove = this.#leaveListeners.add(listener)
    const unannounced = this.#unannounced
    this.#unannounced = undefined
    // Leaves of the start-up cleanup that ran before anyone listened: this listener gets them, after this call.
    if (unannounced !== undefined && unannounced.length > 0) queueMicrotask(() => unannounced.forEach((leave) => this.#leaveListeners.emit(leave)))
    return remove
  }

  /**
   * Registers `listener`, called when this node finds its heartbeat gone although it was
   * written: Redis lost its data (restart, failover) or other nodes swept this node as dead
   * (it stalled past its TTL). Either way its connections may be gone from Redis: the hub
   * should `add` them all again (`add` is idempotent). Returns a function that removes it.
   */
  onReset(listener: () => void): () => void {
    return this.#resetListeners.add(listener)
  }

  /**
   * Stops the timer, waits for a beat or sweep in progress, and quits the client if this
   * presence created it. This node's entries stay (the hub removes its connections, or calls
   * `removeNode`); if it does neither, other nodes sweep them after the TTL. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer)
      await this.#tick
      await this.#sweeping
      if (this.#owned) await closeClient(this.#client)
    })()
    return this.#closing
  }

  /**
   * The first tick: removes what an earlier process with this node id left (reporting those
   * users' leaves), then beats. Failures are logged; the periodic ticks go on either way.
   */
  #start(): Promise<void> {
    const tick = (async () => {
      try {
        const left = await this.#purge(this.#nodeId, true, false)
        if (this.#unannounced === undefined) for (const leave of left) this.#leaveListeners.emit(leave)
        else this.#unannounced = left
        if (left.length > 0) this.#logger?.info({ node: this.#nodeId, leaves: left.length }, 'presence: removed the connections an earlier process with this node id left')
        await this.#beat()
      } catch (error) {
        this.#logger?.warn({ err: error, node: this.#nodeId }, 'presence start-up failed')
      } finally {
        this.#tick = undefined
      }
    })()
    this.#tick = tick
    return tick
  }

  /** One beat unless the previous one still runs, then (with `sweep`) one sweep unless the previous sweep still runs; failures are logged. */
  #run(sweep: boolean): void {
    if (this.#closing !== undefined) return
    if (this.#tick === undefined) {
      this.#tick = (async () => {
        try {
          await this.#beat()
        } catch (error) {
          this.#logger?.warn({ err: error, node: this.#nodeId }, 'presence heartbeat failed')
        } finally {
          this.#tick = undefined
        }
      })()
    }
    // The sweep follows the beat of its tick, unless the previous sweep still runs.
    if (!sweep || this.#sweeping !== undefined) return
    const beat = this.#tick
    this.#sweeping = (async () => {
      try {
        await beat
        if (this.#closing === undefined) await this.#sweep()
      } catch (error) {
        this.#logger?.warn({ err: error, node: this.#nodeId }, 'presence sweep failed')
      } finally {
        this.#sweeping = undefined
      }
    })()
  }

  async #beat(): Promise<void> {
    const existed = await PRESENCE_SCRIPTS.beat.run(
      this.#client,
      [this.#heartbeat(this.#nodeId), this.#registry()],
      [this.#nodeId, this.#heartbeatMs],
    )
    if (existed === 0) this.#lostHeartbeat()
    this.#established = true
  }

  #lostHeartbeat(): void {
    if (!this.#established) return
    this.#logger?.warn({ node: this.#nodeId }, 'presence heartbeat was gone: Redis lost data or this node was swept')
    this.#resetListeners.emit()
  }

  /** Purges every registered node, this one aside, whose heartbeat is gone. */
  async #sweep(): Promise<PresenceLeave[]> {
    const others = (await this.#client.smembers(this.#registry())).filter((node) => node !== this.#nodeId)
    if (others.length === 0) return []
    const beats = await this.#client.mget(...others.map((node) => this.#heartbeat(node)))
    const dead = others.filter((_, i) => beats[i] === null)
    const left: PresenceLeave[] = []
    for (const node of dead) left.push(...(await this.#purge(node, false)))
    return left
  }

  /** Removes `node`'s connections (unless it beats again, when not forced), then forgets it; reports the leaves (to the listeners too, with `announce`). */
  async #purge(node: string, force: boolean, announce = true): Promise<PresenceLeave[]> {
    const index = this.#index(node)
    const channels = await this.#client.hkeys(index)
    const purged = await Promise.all(
      channels.map((channel) =>
        PRESENCE_SCRIPTS.purge.run(
          this.#client,
          [this.#key('conns', channel), this.#key('users', channel), index, this.#heartbeat(node)],
          [`${node}\0`, channel, force ? 1 : 0],
        ),
      ),
    )
    await PRESENCE_SCRIPTS.forget.run(this.#client, [this.#heartbeat(node), index, this.#registry()], [node, force ? 1 : 0])
    const left = channels.flatMap((channel, i) => (purged[i] as string[]).map((user) => ({ channel, user })))
    if (announce) for (const leave of left) this.#leaveListeners.emit(leave)
    return left
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new SwitchboardError('CLOSED', 'The presence is closed.')
  }

  #key(kind: 'conns' | 'users', channel: string): string {
    return `${this.#prefix}:presence:${kind}:${channel}`
  }

  #index(node: string): string {
    return `${this.#prefix}:presence:node:${node}`
  }

  #registry(): string {
    return `${this.#prefix}:presence:nodes`
  }

  #heartbeat(node: string): string {
    return `${this.#prefix}:node:${node}`
  }
}

/** The hash field of one connection: unambiguous for any user id and connection id. */
function field(user: string, connectionId: string): string {
  return JSON.stringify([user, connectionId])
}

/** A connection's value, `<node>\0<user>`, split (node ids hold no NUL; user ids may). */
function splitValue(value: string): { node: string; user: string } {
  const at = value.indexOf('\0')
  return { node: value.slice(0, at), user: value.slice(at + 1) }
}

function checkNodeId(nodeId: string): string {
  if (typeof nodeId !== 'string' || nodeId.length === 0 || nodeId.includes('\0')) {
    throw new SwitchboardError('CONFIG_INVALID', `nodeId must be a non-empty string without NUL, got ${JSON.stringify(nodeId)}.`)
  }
  return nodeId
}
