import type { Connection } from './connection.js'

/** How often token expiries are checked (ms). JWT `exp` counts whole seconds. */
export const TOKEN_EXPIRY_CHECK_MS = 1_000

/**
 * One timer for every connection's token expiry: each second it calls `expired` once for every
 * open connection whose token's `exp` has passed, so an idle connection holds no timer of its
 * own for it. A refreshed token (a new `tokenExp`, `expiryNotified` reset) is checked again.
 */
export class TokenExpiry {
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly connections: ReadonlySet<Connection>,
    private readonly expired: (connection: Connection) => void,
  ) {}

  /** Starts checking (idempotent). */
  start(): void {
    this.timer ??= setInterval(() => this.check(Date.now()), TOKEN_EXPIRY_CHECK_MS)
  }

  /** Checks every connection once against `now` (ms); exposed for tests. */
  check(now: number): void {
    for (const connection of this.connections) {
      if (connection.state !== 'open' || connection.expiryNotified || connection.tokenExp === 0) continue
      if (connection.tokenExp * 1000 > now) continue
      connection.expiryNotified = true
      this.expired(connection)
    }
  }

  /** Stops checking (idempotent). */
  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }
}
