import type { Redis } from 'ioredis'
import { SwitchboardError } from '../../errors.js'
import type { NodeInfo, NodeRegistry } from '../node-registry.js'
import { checkPrefix, closeClient, useClient, type RedisSource } from './redis-connection.js'

/** Options of {@link RedisNodeRegistry}. */
export interface RedisNodeRegistryOptions {
  /** A client (used as it is, not closed by `close()`), connection options or a URL (a client of its own). */
  redis: RedisSource
  /** Prefix of every key (`SWITCHBOARD_REDIS_PREFIX`). Default: `'sb'`. */
  prefix?: string
  /** How long an entry lives without a new report, in ms. Default: 30000. */
  ttlMs?: number
}

/**
 * A {@link NodeRegistry} in Redis: each node's entry is a JSON string key that expires after
 * `ttlMs` (`<prefix>:registry:<id>`), listed through a set of ids (`<prefix>:registry`); ids
 * whose key expired are dropped from the set as `list` finds them.
 */
export class RedisNodeRegistry implements NodeRegistry {
  readonly #client: Redis
  readonly #owned: boolean
  readonly #prefix: string
  readonly #ttlMs: number
  #closing: Promise<void> | undefined

  /** Throws `CONFIG_INVALID` for an empty prefix or a ttlMs below 1. */
  constructor(options: RedisNodeRegistryOptions) {
    this.#prefix = checkPrefix(options.prefix ?? 'sb')
    this.#ttlMs = options.ttlMs ?? 30_000
    if (!Number.isSafeInteger(this.#ttlMs) || this.#ttlMs < 1) {
      throw new SwitchboardError('CONFIG_INVALID', `ttlMs must be a positive integer (ms), got ${String(options.ttlMs)}.`)
    }
    const { client, owned } = useClient(options.redis)
    this.#client = client
    this.#owned = owned
  }

  async report(info: Omit<NodeInfo, 'updatedAt'>): Promise<void> {
    this.#assertOpen()
    const entry: NodeInfo = { id: info.id, startedAt: info.startedAt, connections: info.connections, updatedAt: Date.now() }
    await this.#client.multi().set(this.#entry(info.id), JSON.stringify(entry), 'PX', this.#ttlMs).sadd(this.#index(), info.id).exec()
  }

  async leave(nodeId: string): Promise<void> {
    this.#assertOpen()
    await this.#client.multi().del(this.#entry(nodeId)).srem(this.#index(), nodeId).exec()
  }

  async list(): Promise<NodeInfo[]> {
    this.#assertOpen()
    const ids = (await this.#client.smembers(this.#index())).sort()
    if (ids.length === 0) return []
    const values = await this.#client.mget(...ids.map((id) => this.#entry(id)))
    const gone = ids.filter((_, i) => values[i] === null)
    // A node re-reporting between the MGET and this SREM re-adds itself on its next report.
    if (gone.length > 0) await this.#client.srem(this.#index(), ...gone)
    return values.flatMap((value) => (value === null ? [] : [JSON.parse(value) as NodeInfo]))
  }

  close(): Promise<void> {
    this.#closing ??= this.#owned ? closeClient(this.#client) : Promise.resolve()
    return this.#closing
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new SwitchboardError('CLOSED', 'The node registry is closed.')
  }

  #entry(id: string): string {
    return `${this.#prefix}:registry:${id}`
  }

  #index(): string {
    return `${this.#prefix}:registry`
  }
}
