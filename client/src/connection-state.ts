import type { SwitchboardClientError } from './errors.js'

/**
 * Where a client's connection stands:
 * - `disconnected`: not connected and not trying (before `connect()`, or after the server
 *   refused the token and `getToken()` gave no fresh one); `connect()` starts again.
 * - `connecting`: a socket is opening, or `connect` was sent and `connected` is awaited.
 * - `connected`: `connected` arrived; frames flow.
 * - `reconnecting`: the connection was lost; a retry is scheduled (backoff) or a token fetched.
 * - `closed`: `close()` was called; final.
 */
export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'closed'

/**
 * Why the state changed:
 * - `connect`: the app called `connect()`. `close`: the app called `close()`.
 * - `connected`: the server answered `connected`.
 * - `backoff-elapsed`: the reconnect delay passed. `online`: the browser came back online.
 * - `socket-closed`: the socket closed (see `closeCode`) or failed to open.
 * - `server-going-away`: close 1001 (shutdown or drain).
 * - `heartbeat-timeout`: two `ping`s went unanswered.
 * - `connect-timeout`: no `connected` within `connectTimeoutMs`.
 * - `unauthorized`: close 4001 or an `UNAUTHORIZED`/`TOKEN_EXPIRED` answer to `connect`.
 * - `forbidden`: close 4003 (refused by policy: too many connections, logout, ban).
 * - `no-fresh-token`: after `unauthorized`/`forbidden`, `getToken()` gave the refused token
 *   again, an expired one, or none.
 * - `token-error`: `getToken()` threw (retried with backoff).
 */
export type StateReason =
  | 'connect'
  | 'close'
  | 'connected'
  | 'backoff-elapsed'
  | 'online'
  | 'socket-closed'
  | 'server-going-away'
  | 'heartbeat-timeout'
  | 'connect-timeout'
  | 'unauthorized'
  | 'forbidden'
  | 'no-fresh-token'
  | 'token-error'

/** The payload of the client's `state` event. */
export interface StateChange {
  /** The new state. */
  readonly state: ConnectionState
  /** The state before. */
  readonly previous: ConnectionState
  /** Why it changed. */
  readonly reason: StateReason
  /** The WebSocket close code, when a close caused the change. */
  readonly closeCode?: number
  /** The delay before the next attempt (ms), when the new state is `reconnecting` with a retry scheduled. */
  readonly delayMs?: number
  /** The error behind the change, when there is one (e.g. the server's `UNAUTHORIZED`). */
  readonly error?: SwitchboardClientError
}

const ALLOWED: Readonly<Record<ConnectionState, readonly ConnectionState[]>> = {
  disconnected: ['connecting', 'closed'],
  connecting: ['connected', 'reconnecting', 'disconnected', 'closed'],
  connected: ['reconnecting', 'disconnected', 'closed'],
  reconnecting: ['connecting', 'reconnecting', 'disconnected', 'closed'],
  closed: [],
}

/**
 * The connection state machine: holds the state, refuses transitions the diagram does not
 * have, and reports each change (with its reason) to `onChange`.
 */
export class ConnectionStateMachine {
  private current: ConnectionState = 'disconnected'

  constructor(private readonly onChange: (change: StateChange) => void) {}

  /** The current state. */
  get state(): ConnectionState {
    return this.current
  }

  /** Whether `to` may follow the current state. */
  can(to: ConnectionState): boolean {
    return ALLOWED[this.current].includes(to)
  }

  /**
   * Moves to `to` and reports the change. Returns false (and changes nothing) when the move is
   * not allowed from the current state, e.g. anything after `closed`.
   */
  to(to: ConnectionState, reason: StateReason, extra: Pick<StateChange, 'closeCode' | 'delayMs' | 'error'> = {}): boolean {
    if (!this.can(to)) return false
    const previous = this.current
    this.current = to
    this.onChange({ state: to, previous, reason, ...extra })
    return true
  }
}
