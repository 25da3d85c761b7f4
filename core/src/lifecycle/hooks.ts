import type { Logger } from 'pino'
import type { Session } from '../transport/session.js'

/** Why a connection ended, as reported to `onDisconnect`. */
export type DisconnectReason =
  | 'client-close'
  | 'socket-error'
  | 'heartbeat-timeout'
  | 'slow-consumer'
  | 'auth-timeout'
  | 'unauthorized'
  | 'too-many-connections'
  | 'disconnected'
  | 'token-expired'
  | 'rate-limited'
  | 'payload-too-big'
  | 'server-shutdown'
  | 'server-error'

/** What `onDisconnect` is told about the end of a connection. */
export interface DisconnectInfo {
  /** The close code sent or received (1006 when the socket died without a close frame). */
  readonly code: number
  /** Why the connection ended. */
  readonly reason: DisconnectReason
}

/**
 * Lifecycle hooks. Each may be async. Errors they throw (or reject with) are logged and
 * contained: they never break the connection's cleanup or crash the process.
 */
export interface Hooks {
  /** After a connection authenticated (before `connected` is sent). Runs once per connection. */
  onConnect(session: Session): void | Promise<void>
  /**
   * Exactly once for every connection that ran `onConnect`, whatever way it ended (client
   * close, terminate, heartbeat timeout, slow consumer, shutdown), after the channel layer
   * dropped its subscriptions and presence.
   */
  onDisconnect(session: Session, info: DisconnectInfo): void | Promise<void>
  /** Once when the server closes, after every connection ended and before engines close. */
  onClose(): void | Promise<void>
}

/** A hook's name. */
export type HookName = keyof Hooks

/**
 * Holds the hooks registered for each lifecycle point and runs them in registration order,
 * containing their errors.
 */
export class HookRunner {
  private readonly hooks: { [K in HookName]: Hooks[K][] } = { onConnect: [], onDisconnect: [], onClose: [] }

  constructor(private readonly logger: Logger) {}

  /** Registers `fn` for `name`. */
  add<K extends HookName>(name: K, fn: Hooks[K]): void {
    this.hooks[name].push(fn)
  }

  /** Runs every hook of `name` in order; resolves when all settled. Never rejects. */
  async run<K extends HookName>(name: K, ...args: Parameters<Hooks[K]>): Promise<void> {
    for (const fn of this.hooks[name]) {
      try {
        await (fn as (...a: Parameters<Hooks[K]>) => unknown)(...args)
      } catch (err) {
        this.logger.error({ err, hook: name }, 'hook failed')
      }
    }
  }
}
