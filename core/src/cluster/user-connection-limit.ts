import type { Presence } from '../engines/presence.js'
import { SwitchboardError } from '../errors.js'
import type { Session } from '../transport/session.js'

/** The presence channel that counts one user's connections across nodes. */
export const userConnectionsChannel = (user: string): string => `$connections:${user}`

/**
 * Caps how many connections one user holds across every node (`maxConnectionsPerUser`), by
 * counting them in the shared {@link Presence} (so a dead node's connections expire with its
 * presence entries). Each new connection is added first and counted after: two connections
 * racing for the last slot may both be refused, never both admitted.
 */
export class UserConnectionLimit {
  /** Connections this node counted, to release them and to add them again after a presence reset. */
  private readonly counted = new Map<string, Session>()
  /**
   * Connections whose release failed (the presence engine unreachable): removed again before the
   * next `acquire` and on `restore`, so a failed removal does not count against the user for good.
   */
  private readonly unreleased = new Map<string, Session>()

  /** `limit` 0 admits everyone without touching presence. */
  constructor(
    private readonly presence: Presence,
    private readonly limit: number,
  ) {}

  /**
   * Counts `session` for its user.
   * @throws SwitchboardError `TOO_MANY_CONNECTIONS` when the user already holds `limit` connections (nothing stays counted).
   */
  async acquire(session: Session): Promise<void> {
    if (this.limit === 0) return
    await this.retryUnreleased()
    const channel = userConnectionsChannel(session.user)
    await this.presence.add(channel, session.user, session.id)
    this.counted.set(session.id, session)
    let held: number
    try {
      const members = await this.presence.members(channel)
      held = members.find(member => member.user === session.user)?.connections ?? 0
    } catch (error) {
      // Not admitted, so nobody releases it later: nothing may stay counted.
      await this.release(session).catch(() => {})
      throw error
    }
    if (held > this.limit) {
      await this.release(session)
      throw new SwitchboardError('TOO_MANY_CONNECTIONS', `This user already has ${this.limit} connections, the most allowed.`)
    }
  }

  /** Stops counting `session` (idempotent). When the presence engine fails, it is tried again later (see `unreleased`) and the error is rethrown. */
  async release(session: Session): Promise<void> {
    if (!this.counted.delete(session.id)) return
    try {
      await this.presence.remove(userConnectionsChannel(session.user), session.user, session.id)
    } catch (error) {
      this.unreleased.set(session.id, session)
      throw error
    }
  }

  /** Adds every counted connection again (the presence lost this node's entries). */
  async restore(): Promise<void> {
    await this.retryUnreleased()
    for (const session of this.counted.values()) {
      if (!session.closed) await this.presence.add(userConnectionsChannel(session.user), session.user, session.id)
    }
  }

  /** Removes the connections whose release failed; stops at the first failure (still unreachable: later). */
  private async retryUnreleased(): Promise<void> {
    for (const [id, session] of this.unreleased) {
      try {
        await this.presence.remove(userConnectionsChannel(session.user), session.user, session.id)
      } catch {
        return
      }
      this.unreleased.delete(id)
    }
  }
}
