import { SwitchboardError } from '../../errors.js'
import type { Presence, PresenceMember } from '../presence.js'

/** Totals held by a {@link MemoryPresence}, for leak tests. */
export interface MemoryPresenceCounts {
  /** Channels with at least one member. */
  readonly channels: number
  /** Members summed over channels (a user in two channels counts twice). */
  readonly members: number
  /** Connections summed over channels and members. */
  readonly connections: number
}

/**
 * A {@link Presence} for single-process use and tests: channel → user → connection ids, in
 * memory. Empty entries are deleted as soon as they empty, so nothing outlives its last
 * connection. Several nodes in one process share presence by sharing one instance.
 */
export class MemoryPresence implements Presence {
  readonly #channels = new Map<string, Map<string, Set<string>>>()
  #closed = false

  /** Records the connection; resolves `true` when it is the user's first in the channel. Rejects with `CLOSED` after `close()`. */
  async add(channel: string, user: string, connectionId: string): Promise<boolean> {
    this.#assertOpen()
    let users = this.#channels.get(channel)
    if (users === undefined) {
      users = new Map()
      this.#channels.set(channel, users)
    }
    let connections = users.get(user)
    if (connections === undefined) {
      connections = new Set()
      users.set(user, connections)
    }
    if (connections.has(connectionId)) return false
    connections.add(connectionId)
    return connections.size === 1
  }

  /**
   * Removes the connection; resolves `true` when it was the user's last in the channel, `false`
   * (changing nothing) when it was not present. Rejects with `CLOSED` after `close()`.
   */
  async remove(channel: string, user: string, connectionId: string): Promise<boolean> {
    this.#assertOpen()
    const users = this.#channels.get(channel)
    const connections = users?.get(user)
    if (users === undefined || connections === undefined || !connections.delete(connectionId)) return false
    if (connections.size > 0) return false
    users.delete(user)
    if (users.size === 0) this.#channels.delete(channel)
    return true
  }

  /**
   * Lists the channel's members with their connection counts, sorted by user id in code-unit
   * order (`Array.prototype.sort`); `[]` for an unknown channel. Rejects with `CLOSED` after `close()`.
   */
  async members(channel: string): Promise<PresenceMember[]> {
    this.#assertOpen()
    const users = this.#channels.get(channel)
    if (users === undefined) return []
    return [...users.keys()].sort().map((user) => ({ user, connections: users.get(user)?.size ?? 0 }))
  }

  /** Totals of what is held (all zero once every connection is removed, or after `close()`). */
  counts(): MemoryPresenceCounts {
    let members = 0
    let connections = 0
    for (const users of this.#channels.values()) {
      members += users.size
      for (const ids of users.values()) connections += ids.size
    }
    return { channels: this.#channels.size, members, connections }
  }

  /** Forgets everything; later calls reject with `CLOSED`. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true
    this.#channels.clear()
  }

  #assertOpen(): void {
    if (this.#closed) throw new SwitchboardError('CLOSED')
  }
}
