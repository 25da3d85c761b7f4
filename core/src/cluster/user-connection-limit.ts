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
    const channel = userConnectionsChannel(session.user)
    await this.presence.add(channel, session.user, session.id)
    this.counted.set(session.id, session)
    const members = await this.presence.members(channel)
    const held = members.find(member => member.user === session.user)?.connections ?? 0
    if (held > this.limit) {
      await this.release(session)
      throw new SwitchboardError('TOO_MANY_CONNECTIONS', `This user already has ${this.limit} connections, the most allowed.`)
    }
  }

  /** Stops counting `session` (idempotent). */
  async release(session: Session): Promise<void> {
    if (!this.counted.delete(session.id)) return
    await this.presence.remove(userConnectionsChannel(session.user), session.user, session.id)
  }

  /** Adds every counted connection again (the presence lost this node's entries). */
  async restore(): Promise<void> {
    for (const session of this.counted.values()) {
      if (!session.closed) await this.presence.add(userConnectionsChannel(session.user), session.user, session.id)
    }
  }
}
