import type { Logger } from 'pino'
import type { ChannelLayer } from '../channels/channel-layer.js'
import type { DispatchPool, TaskDeadline } from '../dispatch/dispatch-pool.js'
import { SwitchboardError, toWireError } from '../errors.js'
import type { HookRunner } from '../lifecycle/hooks.js'
import type { SwitchboardOptions } from '../options.js'
import { CLOSE_CODES } from '../protocol/close-codes.js'
import { decodeClientFrame } from '../protocol/decode-frame.js'
import type { ChannelFrame, ClientFrame, ConnectFrame, RefreshFrame } from '../protocol/frames.js'
import type { TokenVerifier } from '../auth/token-verifier.js'
import type { Connection } from './connection.js'
import { TokenBucket } from './token-bucket.js'
import type { Metrics } from '../observability/metrics.js'

/**
 * Admits authenticated connections before they count as open (per-user limits, the node's user
 * index). `release` undoes `admit` and is idempotent.
 */
export interface Admission {
  /** Admits `session` (its user is set), or throws a `SwitchboardError` to refuse it. */
  admit(session: Connection): Promise<void>
  /** Forgets `session` again. */
  release(session: Connection): Promise<void>
}

/** What the router needs from the server. */
export interface FrameRouterDeps {
  options: SwitchboardOptions
  verifyToken: TokenVerifier
  admission: Admission
  /** Counts frames in and `INTERNAL` answers. */
  metrics: Metrics
  channels: ChannelLayer
  pool: DispatchPool
  hooks: HookRunner
  logger: Logger
}

/** Per-connection router state, kept beside the connection. */
interface RouterState {
  readonly connection: Connection
  /** Frames waiting to be handled, in arrival order. */
  inbox: ClientFrame[]
  /** The frame in the dispatch pool (the connection is busy while there is one). */
  current: ClientFrame | undefined
  /** Whether a `connect` frame was received. */
  connectSeen: boolean
  /** Whether `connected` was sent (a `connect` that fails before that ends the connection). */
  connected: boolean
  /** Publish token bucket, made on the first publish (it starts full, as it would be by then anyway). */
  publishes: TokenBucket | undefined
  /** Rate-limited publishes in the current window, and when the window started. */
  strikes: number
  strikesSince: number
}

/** Frames of one connection waiting beyond this get `OVERLOADED`. */
const MAX_INBOX = 1_000

/**
 * Routes decoded frames of each connection: `connect` (authentication), `refresh`, `ping`, and
 * the channel frames, which go through the dispatch pool to the channel layer. Frames of one
 * connection are handled one at a time in arrival order (so a client's publishes keep their
 * order); `ping` is answered at once. Publishes are rate-limited on arrival.
 */
export class FrameRouter {
  private readonly state = new WeakMap<Connection, RouterState>()

  constructor(private readonly deps: FrameRouterDeps) {}

  /** Registers a new connection and arms its authentication deadline. */
  attach(connection: Connection): void {
    const { options } = this.deps
    this.state.set(connection, {
      connection,
      inbox: [],
      current: undefined,
      connectSeen: false,
      connected: false,
      publishes: undefined,
      strikes: 0,
      strikesSince: Date.now(),
    })
    connection.setTimer('auth', options.authTimeoutMs, closeUnauthenticated)
  }

  /** Handles one raw WebSocket message of `connection`. Never throws. */
  receive(connection: Connection, raw: Buffer, isBinary: boolean): void {
    const state = this.state.get(connection)
    if (!state || connection.closed) return
    connection.lastSeen = Date.now()
    const decoded = decodeClientFrame(connection.codec, raw, isBinary)
    this.deps.metrics.tally.countIn(decoded.ok ? decoded.frame.type : 'invalid')
    if (!decoded.ok) {
      // Any frame first but a well-formed `connect` is refused and closes; garbage is only BAD_FRAME (see docs/protocol.md).
      if (!state.connectSeen && decoded.object) {
        this.refuseFirstFrame(connection, decoded.id, new SwitchboardError('UNAUTHORIZED', 'Send `connect` with a token first.', { details: decoded.error.details, cause: decoded.error }))
        return
      }
      this.sendError(connection, decoded.id, decoded.error)
      return
    }
    const frame = decoded.frame
    if (!state.connectSeen) {
      if (frame.type !== 'connect') {
        this.refuseFirstFrame(connection, frameId(frame), new SwitchboardError('UNAUTHORIZED', 'Send `connect` first.'))
        return
      }
      state.connectSeen = true
    } else if (frame.type === 'ping' && connection.state === 'open') {
      connection.send({ type: 'pong', id: frame.id })
      return
    } else if (frame.type === 'publish' && !this.admitPublish(connection, state, frame.id)) {
      return
    }
    if (state.inbox.length >= MAX_INBOX) {
      this.sendError(connection, frameId(frame), new SwitchboardError('OVERLOADED'))
      return
    }
    state.inbox.push(frame)
    if (state.current === undefined) this.drainInbox(state)
  }

  /** A first frame that is not a well-formed `connect`: `UNAUTHORIZED`, then close 4001. */
  private refuseFirstFrame(connection: Connection, id: number | undefined, error: SwitchboardError): void {
    this.sendError(connection, id, error)
    connection.close(CLOSE_CODES.UNAUTHORIZED, 'not connected')
  }

  /**
   * Takes a token for a publish; without one, answers `RATE_LIMITED` (with the frame's `id`) and
   * counts a strike: the strike that reaches `rateLimitCloseAfter` within `rateLimitWindowMs`
   * closes the connection with 4029, after its `RATE_LIMITED`.
   */
  private admitPublish(connection: Connection, state: RouterState, id: number): boolean {
    const { options } = this.deps
    state.publishes ??= new TokenBucket({ ratePerSecond: options.publishRatePerSecond, burst: options.publishBurst })
    if (state.publishes.take()) return true
    this.sendError(connection, id, new SwitchboardError('RATE_LIMITED'))
    const { rateLimitWindowMs, rateLimitCloseAfter } = options
    const now = Date.now()
    if (now - state.strikesSince > rateLimitWindowMs) {
      state.strikes = 0
      state.strikesSince = now
    }
    state.strikes += 1
    if (state.strikes >= rateLimitCloseAfter) connection.close(CLOSE_CODES.RATE_LIMITED, 'rate limit exceeded')
    return false
  }

  /**
   * Hands the connection's next frame to the dispatch pool; {@link frameDone} calls this again
   * once it is answered. Callbacks rather than an async loop: this runs for every frame, and a
   * promise per frame was a sizable share of a publish's garbage.
   */
  private drainInbox(state: RouterState): void {
    while (state.inbox.length > 0 && !state.connection.closed) {
      const frame = state.inbox.shift()!
      state.current = frame
      const refused = this.deps.pool.submit(this.runFrame, state, this.frameDone)
      if (refused === undefined) return
      state.current = undefined
      this.sendError(state.connection, frameId(frame), refused)
    }
    state.inbox.length = 0
  }

  /** The dispatch task of a connection's current frame. */
  private readonly runFrame = (state: RouterState, deadline: TaskDeadline): Promise<void> | void =>
    this.handle(state, state.current!, deadline)

  /**
   * The current frame was handled (or failed, or timed out): answer a failure, then go on. A
   * `connect` that failed this way (past its deadline, say) ends the connection with 1011: the
   * contract answers `connect` with `connected`, or with an error and a close.
   */
  private readonly frameDone = (state: RouterState, failed: boolean, outcome: unknown): void => {
    const frame = state.current!
    state.current = undefined
    if (failed) {
      this.sendError(state.connection, frameId(frame), outcome)
      if (frame.type === 'connect' && !state.connected) {
        state.connection.close(CLOSE_CODES.INTERNAL_ERROR, 'connect failed')
      }
    }
    this.drainInbox(state)
  }

  /** Runs one frame as a dispatch task. Not async itself (the channel layer's promise is returned as is); the pool turns a throw into a rejection. */
  private handle(state: RouterState, frame: ClientFrame, deadline: TaskDeadline): Promise<void> | void {
    const connection = state.connection
    if (connection.closed) return
    if (frame.type === 'connect') {
      if (connection.state === 'open') throw new SwitchboardError('BAD_FRAME', 'Already connected.')
      return this.connect(state, frame)
    }
    // Frames queued behind `connect` run only once it succeeded (a failed one closes the connection).
    if (connection.state !== 'open') throw new SwitchboardError('UNAUTHORIZED', 'Not connected.')
    switch (frame.type) {
      case 'refresh':
        return this.refresh(connection, frame)
      case 'ping':
        connection.send({ type: 'pong', id: frame.id })
        return
      default:
        return this.deps.channels.handle(frame as ChannelFrame, connection, deadline)
    }
  }

  private async connect(state: RouterState, frame: ConnectFrame): Promise<void> {
    const connection = state.connection
    let verified
    try {
      verified = await this.deps.verifyToken(frame.token)
    } catch (err) {
      const error = err instanceof SwitchboardError ? err : new SwitchboardError('UNAUTHORIZED')
      this.sendError(connection, frame.id, error)
      // A token that could not be checked (INTERNAL: the identity provider's keys unavailable) is
      // not refused: 1011, so that clients try again with it rather than ask for another.
      if (error.code === 'INTERNAL') connection.close(CLOSE_CODES.INTERNAL_ERROR, 'token not verifiable now')
      else connection.close(CLOSE_CODES.UNAUTHORIZED, 'unauthorized')
      return
    }
    if (connection.closed) return
    connection.clearTimer('auth')
    connection.user = verified.user
    connection.claims = verified.claims
    try {
      await this.deps.admission.admit(connection)
    } catch (err) {
      this.sendError(connection, frame.id, err)
      // Never open: its end runs no disconnect hooks.
      connection.user = ''
      const code = toWireError(err).code === 'TOO_MANY_CONNECTIONS' ? CLOSE_CODES.FORBIDDEN : CLOSE_CODES.INTERNAL_ERROR
      connection.closeReason = code === CLOSE_CODES.FORBIDDEN ? 'too-many-connections' : 'server-error'
      connection.close(code, 'connection refused')
      return
    }
    if (connection.closed) {
      // It went away while being admitted; its cleanup saw a connection that never opened.
      await this.deps.admission.release(connection)
      return
    }
    connection.state = 'open'
    this.armExpiry(connection, verified.exp)
    await this.deps.hooks.run('onConnect', connection)
    // Past the deadline the connection was answered TIMEOUT and closed (see frameDone).
    if (connection.closed) return
    state.connected = true
    connection.send({
      type: 'connected',
      id: frame.id,
      session: connection.id,
      user: connection.user,
      node: this.deps.options.nodeId,
      heartbeatMs: this.deps.options.heartbeatMs,
    })
  }

  private async refresh(connection: Connection, frame: RefreshFrame): Promise<void> {
    const verified = await this.deps.verifyToken(frame.token)
    if (verified.user !== connection.user) {
      throw new SwitchboardError('UNAUTHORIZED', 'The new token is for another user.')
    }
    connection.claims = verified.claims
    connection.clearTimer('grace')
    this.armExpiry(connection, verified.exp)
    connection.send({ type: 'refreshed', id: frame.id, exp: verified.exp })
  }

  /** Records the token's `exp`: past it, `TokenExpiry` calls {@link tokenExpired}. */
  private armExpiry(connection: Connection, exp: number): void {
    connection.tokenExp = exp
    connection.expiryNotified = false
  }

  /** The token expired: say so, and close with 4001 unless a refresh arrives within the grace period. */
  readonly tokenExpired = (connection: Connection): void => {
    this.sendError(connection, undefined, new SwitchboardError('TOKEN_EXPIRED'))
    connection.setTimer('grace', this.deps.options.tokenGraceMs, closeExpired)
  }

  private sendError(connection: Connection, id: number | undefined, error: unknown): void {
    const wire = toWireError(error)
    if (wire.code === 'INTERNAL') {
      this.deps.metrics.internalErrors.inc()
      this.deps.logger.error({ err: error, session: connection.id }, 'frame handling failed')
    }
    connection.send(id === undefined ? { type: 'error', ...wire } : { type: 'error', id, ...wire })
  }
}

/** The authentication deadline passed: close a connection that sent no `connect`. */
function closeUnauthenticated(connection: Connection): void {
  if (connection.state === 'authenticating') connection.close(CLOSE_CODES.AUTH_TIMEOUT, 'no connect in time')
}

/** The grace period after `TOKEN_EXPIRED` passed without a refresh. */
function closeExpired(connection: Connection): void {
  connection.closeReason = 'token-expired'
  connection.close(CLOSE_CODES.UNAUTHORIZED, 'token expired')
}

function frameId(frame: ClientFrame): number | undefined {
  return 'id' in frame ? frame.id : undefined
}
