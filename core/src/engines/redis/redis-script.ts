import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'

/**
 * A Lua script run with `EVALSHA`, falling back to `EVAL` when the server does not know it
 * (first use, or after a Redis restart flushed its script cache). Unlike ioredis's
 * `defineCommand` it adds nothing to the client, so it is safe on a client shared with others.
 */
export class RedisScript {
  /** The script's SHA-1, as Redis names it. */
  readonly sha: string

  /** The script's Lua source. */
  readonly source: string

  /** Wraps `source`; nothing is sent to Redis until the first `run`. */
  constructor(source: string) {
    this.source = source
    this.sha = createHash('sha1').update(source).digest('hex')
  }

  /** Runs the script on `client` with `keys` and `args`; rejects with the Redis error when it fails. */
  async run(client: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args)
    } catch (error) {
      // NOSCRIPT is the error code Redis puts first in the reply; nothing else is worth a retry.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
      return client.eval(this.source, keys.length, ...keys, ...args)
    }
  }
}
