import { Redis, type RedisOptions } from 'ioredis'
import { SwitchboardError } from '../../errors.js'

/**
 * Where a Redis engine gets its connections: a ready ioredis client (used as it is, or
 * duplicated when the engine needs connections of its own), ioredis connection options, or a
 * `redis://` / `rediss://` URL.
 */
export type RedisSource = Redis | RedisOptions | string

/** A client and whether the engine created it (and so must close it). */
export interface RedisHandle {
  /** The client to send commands on. */
  readonly client: Redis
  /** True when the engine created the client and `close()` must quit it. */
  readonly owned: boolean
}

/** True when `source` is an ioredis client rather than options or a URL. */
export function isRedisClient(source: RedisSource): source is Redis {
  return source instanceof Redis || (typeof source === 'object' && typeof (source as Partial<Redis>).duplicate === 'function')
}

/**
 * The client to use for plain commands: `source` itself when it is a client (not owned), else a
 * new client built from the options or URL with `overrides` applied (owned).
 */
export function useClient(source: RedisSource, overrides: RedisOptions = {}): RedisHandle {
  if (isRedisClient(source)) return { client: source, owned: false }
  return { client: openClient(source, overrides), owned: true }
}

/**
 * A new client, always owned by the caller: a duplicate of `source` when it is a client (same
 * server, credentials and options), else one built from the options or URL; `overrides` win.
 * It connects at once (`lazyConnect` is forced off).
 */
export function openClient(source: RedisSource, overrides: RedisOptions = {}): Redis {
  const forced: RedisOptions = { ...overrides, lazyConnect: false }
  const client = isRedisClient(source)
    ? source.duplicate(forced)
    : typeof source === 'string'
      ? new Redis(source, forced)
      : new Redis({ ...source, ...forced })
  // Connection errors reach callers as rejected commands and the engines' `ready`; without a
  // listener ioredis prints every failed reconnect attempt of an outage to stderr.
  client.on('error', () => {})
  return client
}

/**
 * Closes a client the engine owns: `QUIT` when connected (replies in flight are received
 * first), else a plain disconnect, which also cancels a pending reconnect. Resolves once the
 * socket is closed; never rejects. Closing a client that already ended does nothing.
 */
export async function closeClient(client: Redis): Promise<void> {
  if (client.status === 'end') return
  // ioredis emits no `end` when disconnected while waiting to reconnect: the timer is simply
  // cleared and no socket is open, so there is nothing to wait for.
  if (client.status === 'reconnecting' || client.status === 'close' || client.status === 'wait') {
    client.disconnect()
    return
  }
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()))
  if (client.status === 'ready') {
    try {
      await client.quit()
    } catch {
      client.disconnect()
    }
  } else {
    client.disconnect()
  }
  await ended
}

/** Returns `prefix` when it is a non-empty string; throws `CONFIG_INVALID` naming the value otherwise. */
export function checkPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new SwitchboardError('CONFIG_INVALID', `prefix must be a non-empty string, got ${JSON.stringify(prefix)}.`)
  }
  return prefix
}
