import { Backoff } from './backoff.js'
import { Channel, type ChannelActions, type HistoryOptions } from './channel.js'
import type { ChannelDataOf, ChannelMapLike, ChannelName, CheckedName, UntypedChannelMap } from './channel-types.js'
import { ConnectionStateMachine, type ConnectionState, type StateChange, type StateReason } from './connection-state.js'
import { Emitter } from './emitter.js'
import { errorFromFrame, SwitchboardClientError } from './errors.js'
import type { ClientFrame, PresenceMember, RequestFrame, ServerFrame } from './frames.js'
import { Heartbeat } from './heartbeat.js'
import { resolveClientOptions, type AckMode, type ClientOptions, type ResolvedClientOptions } from './options.js'
import { Publisher, type PublishOptions, type PublishResult } from './publisher.js'
import { RequestTracker } from './requests.js'
import { Subscription, type ChannelHost, type ChannelMessage } from './subscription.js'
import { TokenRefresher } from './token-refresher.js'
import { ackBarrier, closeSocket, frameSize, killSocket, type WebSocketLike } from './socket.js'

/** The session the server opened (`connected` frame). */
export interface ConnectionInfo {
  /** The connection id. */
  readonly session: string
  /** The authenticated user id. */
  readonly user: string
  /** The node serving the connection. */
  readonly node: string
  /** The heartbeat interval the server asked for (ms). */
  readonly heartbeatMs: number
}

/** The payload of the client's `error` event: failures no promise reports. */
export interface ClientErrorEvent {
  /** A `SwitchboardClientError` (server `error` frames without an id, token failures), or what a handler threw. */
  readonly error: unknown
  /** The channel, when the error concerns one. */
  readonly channel?: string
  /** The message being handled, when a handler threw. */
  readonly seq?: number
}

/** Events of a client. */
export interface ClientEvents {
  /** Every connection state change, with its reason. */
  state: StateChange
  /** Each time the server accepted a connection. */
  connected: ConnectionInfo
  /** Errors no promise reports (handlers that threw, id-less server errors, `getToken` failures); logged with `console.error` when nobody listens. */
  error: ClientErrorEvent
}

/** Options of `client.channel()`. */
export interface ChannelOptions {
  /** This channel's ack mode; default the client's `ackMode`. Only the first `channel()` call for a name applies it. */
  ackMode?: AckMode
}

type TimerName = 'reconnect' | 'connect' | 'stable'

/**
 * How long a connection must stay up before the reconnect backoff starts again from its first
 * delay: a server that closes right after `connected` (rate limit 4029, a failing handler 1011, a
 * slow consumer 4008 during a big replay) is retried with growing delays, not every second.
 */
export const STABLE_CONNECTION_MS = 5_000

/**
 * A Switchboard client: one WebSocket connection (re-established with backoff when it drops),
 * typed channels, publishes that survive disconnects, and subscriptions that resume without gaps
 * or duplicates. Create it with `createClient`; call `connect()`; `close()` when done.
 */
export class SwitchboardClient<M extends ChannelMapLike = UntypedChannelMap> {
  /** The options with their defaults applied. */
  readonly options: ResolvedClientOptions
  private readonly events: Emitter<ClientEvents>
  private readonly machine: ConnectionStateMachine
  private readonly backoff: Backoff
  private readonly requests = new RequestTracker()
  private readonly heartbeat: Heartbeat
  private readonly publisher: Publisher
  private readonly refresher: TokenRefresher
  private readonly subscriptions = new Map<string, { subscription: Subscription<unknown>; channel: Channel<unknown> }>()
  private readonly timers = new Map<TimerName, ReturnType<typeof setTimeout>>()
  private socket: WebSocketLike | undefined
  private ready = false
  private attempt = 0
  private token: string | undefined
  private refusedToken: string | undefined
  private connectError: SwitchboardClientError | undefined
  private info: ConnectionInfo | undefined
  private connectedWaiters: { resolve(): void; reject(error: SwitchboardClientError): void }[] = []
  private onlineListener: (() => void) | undefined
  private closing: Promise<void> | undefined

  /** @throws SwitchboardClientError `CONFIG_INVALID` for a bad option. */
  constructor(options: ClientOptions) {
    this.options = resolveClientOptions(options)
    this.events = new Emitter<ClientEvents>((error, event) => {
      // A throwing `state`/`connected` listener is reported like a throwing handler; a throwing
      // `error` listener is rethrown (outside the client), as an EventEmitter would.
      if (event !== 'error') this.report(error)
      else
        queueMicrotask(() => {
          throw error
        })
    })
    this.machine = new ConnectionStateMachine(change => this.events.emit('state', change))
    this.backoff = new Backoff(this.options.reconnect)
    this.heartbeat = new Heartbeat(
      () => this.write({ type: 'ping', id: this.requests.id() }),
      () => this.lost('heartbeat-timeout'),
    )
    this.refresher = new TokenRefresher({
      getToken: this.options.getToken,
      marginMs: this.options.tokenRefreshMarginMs,
      send: token => this.request({ type: 'refresh', token }),
      report: error => this.report(error),
    })
    this.publisher = new Publisher({
      request: frame => this.request(frame),
      connected: () => this.ready,
      frameSize: frame => frameSize(this.options.codec.encode(frame)),
      limit: this.options.publishQueueLimit,
      window: this.options.publishWindow,
      retries: this.options.publishRetries,
      maxPayloadBytes: this.options.maxPayloadBytes,
      backoff: this.options.reconnect,
    })
  }

  /** The connection state (see {@link ConnectionState}). */
  get state(): ConnectionState {
    return this.machine.state
  }

  /** The current session, while connected. */
  get connection(): ConnectionInfo | undefined {
    return this.ready ? this.info : undefined
  }

  /** Publishes not answered yet (queued while disconnected, waiting to retry, or in flight). */
  get pendingPublishes(): number {
    return this.publisher.size
  }

  /** Listens to `state`, `connected` or `error`; returns a function that removes the listener. */
  on<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => unknown): () => void {
    return this.events.on(event, listener)
  }

  /** Removes a listener added with `on`. */
  off<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => unknown): void {
    this.events.off(event, listener)
  }

  /**
   * Starts connecting (and keeps reconnecting until `close()`). Calling it while `reconnecting`
   * retries at once; while `connecting` or `connected` it does nothing. After `disconnected`
   * (refused token) it tries again, asking `getToken()` first.
   * @throws SwitchboardClientError `CLOSED` after `close()`.
   */
  connect(): void {
    if (this.machine.state === 'closed') throw new SwitchboardClientError('CLOSED', 'The client was closed.')
    if (this.machine.state !== 'disconnected' && this.machine.state !== 'reconnecting') return
    this.refusedToken = undefined
    this.listenOnline()
    this.tryNow('connect')
  }

  /**
   * Closes the client for good: sends pending acks (and waits, at most 1 s, until the server
   * has taken them), closes the socket (1000), stops every timer and rejects pending publishes,
   * requests and subscribes with `CLOSED`. Handlers still running finish, but their acks are not
   * sent (at-least-once channels deliver those messages again next time). Idempotent; resolves
   * when the socket is closed (at most ~2 s).
   */
  close(): Promise<void> {
    if (this.closing) return this.closing
    const socket = this.socket
    const acked = this.ready ? [...this.subscriptions.values()].filter(({ subscription }) => subscription.flushAcks()).map(({ subscription }) => subscription.name) : []
    this.machine.to('closed', 'close')
    for (const name of [...this.timers.keys()]) this.clearTimer(name)
    this.heartbeat.stop()
    this.refresher.stop()
    if (this.onlineListener) (globalThis as unknown as EventTarget).removeEventListener('online', this.onlineListener)
    const error = new SwitchboardClientError('CLOSED', 'The client was closed.')
    this.publisher.closeAll(error)
    this.requests.failAll(error)
    for (const { subscription } of this.subscriptions.values()) subscription.close(error)
    for (const waiter of this.connectedWaiters.splice(0)) waiter.reject(error)
    this.socket = undefined
    this.ready = false
    this.closing = (async () => {
      if (!socket) return
      if (acked.length > 0) {
        await ackBarrier(socket, this.options.codec, acked.map(channel => ({ type: 'unsubscribe', id: this.requests.id(), channel })))
      }
      await closeSocket(socket)
    })()
    return this.closing
  }

  /**
   * The handle of channel `name` (the same one for the same name), typed by the payload the
   * client's channel map gives the name: `client.channel('room:lobby')` matches `room:{roomId}`.
   * A name that matches no pattern does not compile.
   */
  channel<N extends ChannelName<M>>(
    name: N extends CheckedName<M, N> ? N : CheckedName<M, N>,
    options: ChannelOptions = {},
  ): Channel<ChannelDataOf<M, N>> {
    const key = name as string
    let entry = this.subscriptions.get(key)
    if (!entry) {
      const subscription = new Subscription<unknown>(key, this.channelHost(), options.ackMode ?? this.options.ackMode)
      entry = { subscription, channel: new Channel(subscription, this.channelActions()) }
      this.subscriptions.set(key, entry)
    }
    return entry.channel as Channel<ChannelDataOf<M, N>>
  }

  private channelHost(): ChannelHost {
    return {
      backoff: this.options.reconnect,
      ackDelayMs: this.options.ackDelayMs,
      connected: () => this.ready,
      closed: () => this.machine.state === 'closed',
      request: frame => this.request(frame),
      sendAck: (channel, seq) => this.ready && this.write({ type: 'ack', channel, seq }),
      reportError: (error, channel, seq) => this.report(error, channel, seq),
    }
  }

  private channelActions(): ChannelActions {
    return {
      publish: (channel: string, data: unknown, options?: PublishOptions): Promise<PublishResult> => {
        if (this.machine.state === 'closed') return Promise.reject(new SwitchboardClientError('CLOSED', 'The client was closed.'))
        return this.publisher.publish(channel, data, options)
      },
      history: async (channel: string, options: HistoryOptions = {}): Promise<ChannelMessage[]> => {
        const frame: RequestFrame = { type: 'history', channel, ...options }
        const reply = await this.requestWhenConnected(frame)
        return reply['messages'] as ChannelMessage[]
      },
      presence: async (channel: string): Promise<PresenceMember[]> => {
        const reply = await this.requestWhenConnected({ type: 'presence', channel })
        return reply['members'] as PresenceMember[]
      },
    }
  }

  /** Moves to `connecting` and starts an attempt: ask `getToken()`, open a socket, send `connect`. */
  private tryNow(reason: StateReason): void {
    this.clearTimer('reconnect')
    if (!this.machine.to('connecting', reason)) return
    void this.open()
  }

  private async open(): Promise<void> {
    const attempt = ++this.attempt
    const current = (): boolean => attempt === this.attempt && this.machine.state === 'connecting'
    let token: string | null | undefined
    try {
      token = await this.options.getToken()
    } catch (cause) {
      if (!current()) return
      const error = new SwitchboardClientError('TOKEN_UNAVAILABLE', 'getToken() failed.', { cause })
      this.report(error)
      return this.retry('token-error', { error })
    }
    if (!current()) return
    if (typeof token !== 'string' || token === '' || token === this.refusedToken) {
      const why = token === this.refusedToken ? 'getToken() returned the token the server refused.' : 'getToken() returned no token.'
      this.machine.to('disconnected', 'no-fresh-token', { error: new SwitchboardClientError('TOKEN_UNAVAILABLE', why) })
      return
    }
    this.token = token
    let socket: WebSocketLike
    try {
      socket = new this.options.WebSocket(this.options.url, [this.options.codec.subprotocol]) as WebSocketLike
    } catch (cause) {
      const error = new SwitchboardClientError('DISCONNECTED', 'The WebSocket could not be created.', { cause })
      this.report(error)
      return this.retry('socket-closed', { error })
    }
    this.socket = socket
    this.connectError = undefined
    socket.binaryType = 'arraybuffer'
    socket.onopen = () => {
      if (this.socket === socket) this.sendConnect(socket, token)
    }
    socket.onmessage = event => {
      if (this.socket === socket) this.receive(event.data)
    }
    socket.onerror = () => {}
    socket.onclose = event => {
      if (this.socket === socket) this.socketClosed(event.code)
    }
    this.setTimer('connect', this.options.connectTimeoutMs, () => this.lost('connect-timeout'))
  }

  private sendConnect(socket: WebSocketLike, token: string): void {
    const { id, reply } = this.requests.track()
    this.write({ type: 'connect', id, token, client: this.options.clientInfo }, socket)
    reply.then(
      frame => this.connected(socket, frame),
      (error: SwitchboardClientError) => {
        // The server closes (4001/4003) right after refusing: keep the reason for that close.
        if (this.socket === socket) this.connectError = error
      },
    )
  }

  private connected(socket: WebSocketLike, frame: ServerFrame): void {
    if (this.socket !== socket || this.machine.state !== 'connecting') return
    this.clearTimer('connect')
    this.ready = true
    this.refusedToken = undefined
    this.setTimer('stable', STABLE_CONNECTION_MS, () => this.backoff.reset())
    const info: ConnectionInfo = {
      session: String(frame['session']),
      user: String(frame['user']),
      node: String(frame['node']),
      heartbeatMs: Number(frame['heartbeatMs']),
    }
    this.info = info
    this.heartbeat.start(this.options.heartbeatMs ?? (info.heartbeatMs > 0 ? info.heartbeatMs : 25_000))
    if (this.token !== undefined) this.refresher.start(this.token)
    this.machine.to('connected', 'connected')
    // A `state` listener may have closed the client.
    if (this.socket !== socket) return
    this.events.emit('connected', info)
    if (this.socket !== socket) return
    for (const { subscription } of this.subscriptions.values()) subscription.connected()
    this.publisher.pump()
    for (const waiter of this.connectedWaiters.splice(0)) waiter.resolve()
  }

  private receive(data: unknown): void {
    let frame: ServerFrame
    try {
      frame = this.options.codec.decode(data as string | ArrayBuffer) as ServerFrame
      if (typeof frame !== 'object' || frame === null || typeof frame.type !== 'string') throw new TypeError('not a frame object')
    } catch (cause) {
      this.report(new SwitchboardClientError('BAD_FRAME', 'The server sent a frame the client cannot decode.', { cause }))
      return
    }
    this.heartbeat.alive()
    if (this.requests.settle(frame)) return
    switch (frame.type) {
      case 'message':
      case 'join':
      case 'leave':
        this.subscriptions.get(String(frame['channel']))?.subscription.receive(frame)
        return
      case 'error': {
        const error = errorFromFrame(frame)
        if (error.code === 'TOKEN_EXPIRED') this.refresher.now()
        this.report(error, typeof frame['channel'] === 'string' ? frame['channel'] : undefined)
        return
      }
      default:
        // `pong`, and frame types of newer servers.
        return
    }
  }

  private socketClosed(code: number): void {
    const error = this.connectError
    if (code === 1009) this.publisher.rejectLargestInFlight()
    // The token the server refused: the connection's latest (refreshed) one, or the one just sent in `connect`.
    const token = this.refresher.current ?? this.token
    this.dropSocket()
    if (code === 4001 || code === 4003) {
      this.refusedToken = token
      this.retry(code === 4001 ? 'unauthorized' : 'forbidden', { closeCode: code, ...(error ? { error } : {}) })
    } else {
      this.retry(code === 1001 ? 'server-going-away' : 'socket-closed', { closeCode: code })
    }
  }

  /** The connection is dead or stuck (no pong, no `connected`): cut it and reconnect. */
  private lost(reason: StateReason): void {
    const socket = this.socket
    if (!socket) return
    this.dropSocket()
    killSocket(socket)
    this.retry(reason)
  }

  /** Forgets the socket: everything waiting on it fails over to the next connection. */
  private dropSocket(): void {
    this.socket = undefined
    this.ready = false
    this.clearTimer('stable')
    this.heartbeat.stop()
    this.clearTimer('connect')
    this.refresher.stop()
    this.requests.failAll(new SwitchboardClientError('DISCONNECTED', 'The connection dropped.'))
    this.publisher.connectionLost()
    for (const { subscription } of this.subscriptions.values()) subscription.disconnected()
  }

  private retry(reason: StateReason, extra: Pick<StateChange, 'closeCode' | 'error'> = {}): void {
    if (!this.machine.can('reconnecting')) return
    const delayMs = this.backoff.next()
    this.machine.to('reconnecting', reason, { ...extra, delayMs })
    if (this.machine.state === 'reconnecting') this.setTimer('reconnect', delayMs, () => this.tryNow('backoff-elapsed'))
  }

  private listenOnline(): void {
    const target = globalThis as unknown as Partial<EventTarget>
    if (this.onlineListener || typeof target.addEventListener !== 'function') return
    this.onlineListener = () => {
      if (this.machine.state === 'reconnecting') this.tryNow('online')
    }
    target.addEventListener('online', this.onlineListener)
  }

  /** Sends a request on the current connection. Rejects with `DISCONNECTED` when there is none or it drops. */
  private request(frame: RequestFrame): Promise<ServerFrame> {
    if (!this.ready) return Promise.reject(new SwitchboardClientError('DISCONNECTED', 'Not connected.'))
    const { id, reply } = this.requests.track()
    if (!this.write({ ...frame, id } as ClientFrame)) {
      this.requests.forget(id)
      return Promise.reject(new SwitchboardClientError('DISCONNECTED', 'Not connected.'))
    }
    return reply
  }

  /** A read request: waits for a connection, survives reconnects, gives up after `requestTimeoutMs`. */
  private async requestWhenConnected(frame: RequestFrame): Promise<ServerFrame> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new SwitchboardClientError('REQUEST_TIMEOUT', `No answer to ${frame.type} within ${this.options.requestTimeoutMs} ms.`)),
        this.options.requestTimeoutMs,
      )
    })
    try {
      for (;;) {
        // The loser of each race may settle later (rejected at close): keep that quiet.
        const connected = this.whenConnected()
        connected.catch(() => {})
        await Promise.race([connected, timeout])
        const reply = this.request(frame)
        reply.catch(() => {})
        try {
          return await Promise.race([reply, timeout])
        } catch (error) {
          if ((error as SwitchboardClientError).code !== 'DISCONNECTED') throw error
        }
      }
    } finally {
      clearTimeout(timer)
    }
  }

  private whenConnected(): Promise<void> {
    if (this.ready) return Promise.resolve()
    if (this.machine.state === 'closed') return Promise.reject(new SwitchboardClientError('CLOSED', 'The client was closed.'))
    return new Promise((resolve, reject) => this.connectedWaiters.push({ resolve, reject }))
  }

  private write(frame: ClientFrame, socket = this.socket): boolean {
    if (!socket) return false
    try {
      socket.send(this.options.codec.encode(frame))
      return true
    } catch {
      return false
    }
  }

  /** Emits `error`; with nobody listening, logs to the console instead of losing it. */
  private report(error: unknown, channel?: string, seq?: number): void {
    const event: ClientErrorEvent = { error, ...(channel === undefined ? {} : { channel }), ...(seq === undefined ? {} : { seq }) }
    if (this.events.count('error') > 0) this.events.emit('error', event)
    else console.error('[switchboard]', event)
  }

  private setTimer(name: TimerName, ms: number, fn: () => void): void {
    this.clearTimer(name)
    this.timers.set(name, setTimeout(() => {
      this.timers.delete(name)
      fn()
    }, ms))
  }

  private clearTimer(name: TimerName): void {
    const timer = this.timers.get(name)
    if (timer !== undefined) clearTimeout(timer)
    this.timers.delete(name)
  }
}

/**
 * Creates a client. `M` is the app's channel map — the generated `ChannelMap`
 * (`ChannelMapOf<typeof channels>`) or `{ 'room:{roomId}': { text: string } }` — so that
 * `client.channel('room:lobby').publish(data)` checks `data` at compile time.
 * @throws SwitchboardClientError `CONFIG_INVALID` naming the bad option.
 */
export function createClient<M extends ChannelMapLike = UntypedChannelMap>(options: ClientOptions): SwitchboardClient<M> {
  return new SwitchboardClient<M>(options)
}
