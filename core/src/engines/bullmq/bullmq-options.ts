import type { Redis } from 'ioredis'
import { SwitchboardError } from '../../errors.js'

/** `value` when it is a non-empty string (without `:` when `noColon`); throws `CONFIG_INVALID` otherwise. */
export function checkName(value: string, name: string, noColon: boolean): string {
  if (typeof value !== 'string' || value.length === 0 || (noColon && value.includes(':'))) {
    const expected = noColon ? 'a non-empty string without ":"' : 'a non-empty string'
    throw new SwitchboardError('CONFIG_INVALID', `${name} must be ${expected}, got ${JSON.stringify(value)}.`)
  }
  return value
}

/**
 * Throws `CONFIG_INVALID` naming the first of `clients` (option name and client) that has an
 * ioredis `keyPrefix`: BullMQ keys must be namespaced with its own `prefix` option instead.
 */
export function checkNoKeyPrefix(clients: readonly (readonly [name: string, client: Redis])[]): void {
  for (const [name, client] of clients) {
    if (client.options.keyPrefix) {
      throw new SwitchboardError('CONFIG_INVALID', `${name} has the ioredis keyPrefix ${JSON.stringify(client.options.keyPrefix)}; use the prefix option instead.`)
    }
  }
}
