import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { SwitchboardError } from '../../errors.js'
import type { Sequencer } from '../sequencer.js'
import { checkPrefix, closeClient, useClient, type RedisSource } from './redis-connection.js'
import { RedisScript } from './redis-script.js'

/** Options of {@link RedisSequencer}. */
export interface RedisSequencerOptions {
  /** A client (used as it is, not closed by `close()`), connection options or a URL (a client of its own). */
  redis: RedisSource
  /** Prefix of every key (`SWITCHBOARD_REDIS_PREFIX`). Default: `'sb'`. */
  prefix?: string
}

/** The `{ epoch, seq }` pair both scripts return. */
type Position = { epoch: string; seq: number }

// The epoch is created next to the counter, in the same hash, so the two can only be lost
// together: a counter that restarts always restarts in a new epoch.
const NEXT = new RedisScript(`
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
return {redis.call('HGET', KEYS[1], 'epoch'), seq}
`)

const CURRENT = new RedisScript(`
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
local v = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
return {v[1], tonumber(v[2] or '0')}
`)

/**
 * A {@link Sequencer} shared by every node using the same Redis and prefix. Each channel has one
 * hash, `<prefix>:seq:<channel>`, holding `seq` (incremented with `HINCRBY`) and `epoch` (a random
 * UUID set with `HSETNX` by whichever node touches the channel first), both changed by one Lua
 * script so every node sees the same pair. Nothing here is durable: when Redis loses the hash
 * (restart without persistence, failover, eviction) the channel's numbering restarts at 1 in a
 * new epoch, which is exactly what a change of epoch tells clients. `current` creates the epoch
 * too (with seq 0), so the epoch announced on subscribe is the one of the messages that follow.
 */
export class RedisSequencer implements Sequencer {
  readonly #client: Redis
  readonly #owned: boolean
  readonly #prefix: string
  #closing: Promise<void> | undefined

  /** Throws `CONFIG_INVALID` when `prefix` is empty. */
  constructor(options: RedisSequencerOptions) {
    this.#prefix = checkPrefix(options.prefix ?? 'sb')
    const { client, owned } = useClient(options.redis)
    this.#client = client
    this.#owned = owned
  }

  /**
   * The channel's next seq and its epoch. Rejects with `CLOSED` after `close()`, and with the
   * ioredis error when Redis cannot be reached.
   */
  async next(channel: string): Promise<{ epoch: string; seq: number }> {
    return this.#run(NEXT, channel)
  }

  /**
   * The latest seq handed out for `channel` (0 when none) and its epoch, created now when the
   * channel has none. Rejects with `CLOSED` after `close()`, and with the ioredis error when
   * Redis cannot be reached.
   */
  async current(channel: string): Promise<{ epoch: string; seq: number }> {
    return this.#run(CURRENT, channel)
  }

  /** Stops accepting calls and quits the client if this sequencer created it. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#owned ? closeClient(this.#client) : Promise.resolve()
    return this.#closing
  }

  async #run(script: RedisScript, channel: string): Promise<Position> {
    if (this.#closing !== undefined) throw new SwitchboardError('CLOSED', 'The sequencer is closed.')
    const reply = await script.run(this.#client, [`${this.#prefix}:seq:${channel}`], [randomUUID()])
    return toPosition(reply)
  }
}

function toPosition(reply: unknown): Position {
  if (Array.isArray(reply) && typeof reply[0] === 'string' && typeof reply[1] === 'number') {
    return { epoch: reply[0], seq: reply[1] }
  }
  throw new SwitchboardError('INTERNAL', 'Redis answered the sequencer script with an unexpected reply.')
}
