import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
export type { Engines } from './engines/engines.js'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { createJwtVerifier, type TokenVerifier } from './auth/token-verifier.js'
import { ChannelHub, type ServerPublishOptions, type ServerPublishResult } from './channels/channel-hub.js'
import { NO_CHANNELS, type ChannelLayer } from './channels/channel-layer.js'
import type { AnyChannelDefinition } from './channels/define-channel.js'
import { DispatchPool } from './dispatch/dispatch-pool.js'
import type { RetentionScheduler } from './engines/retention.js'
import { withDefaultEngines, type Engines } from './engines/engines.js'
import type { NodeInfo } from './engines/node-registry.js'
import { ClusterMember, type Readiness } from './cluster/cluster-member.js'
import { enforceRetention } from './delivery/retention.js'
import { Metrics } from './observability/metrics.js'
import { SwitchboardError } from './errors.js'
import { HookRunner, type HookName, type Hooks } from './lifecycle/hooks.js'
import { createLogger, type Logger } from './observability/logger.js'
import { resolveOptions, type SwitchboardOptions, type SwitchboardOptionsInput } from './options.js'
import { CLOSE_CODES } from './protocol/close-codes.js'
import { Connection, type ConnectionOptions } from './transport/connection.js'
import { FrameRouter } from './transport/frame-router.js'
import { Heartbeat } from './transport/heartbeat.js'
import { TokenExpiry } from './transport/token-expiry.js'
import type { Session } from './transport/session.js'
import { UpgradeGuard, clientIp, refuseUpgrade } from './transport/upgrade-guard.js'
import { httpServerOptions } from './transport/http-server-options.js'

/** Everything the channel layer factory receives to build the node's channel layer. */
export interface ChannelLayerContext {
  options: SwitchboardOptions
  engines: Engines
  logger: Logger
}

/**
 * The configuration of `createSwitchboard`: the plain options of {@link SwitchboardOptions}
 * (all optional, with their documented defaults) plus the parts that are objects.
 */
export interface SwitchboardConfig extends SwitchboardOptionsInput {
  /** Engines; each missing one defaults to its memory implementation. */
  engines?: Partial<Engines>
  /** The channel definitions this node serves (`defineChannel`). Default none: every channel frame gets `UNKNOWN_CHANNEL`. */
  channels?: readonly AnyChannelDefinition[]
  /** Replaces the framework's channel layer with another implementation (advanced; tests). Excludes `channels`. */
  channelLayer?: (context: ChannelLayerContext) => ChannelLayer
  /** Verifies `connect`/`refresh` tokens. Default: a JWT verifier built from `jwt`. */
  authenticate?: TokenVerifier
  /** Lifecycle hooks, registered before any connection arrives. More can be added with `addHook`. */
  hooks?: Partial<Hooks>
  /** Structured logger. Default: pino at `LOG_LEVEL` or `info`. */
  logger?: Logger
}

/** Options of `disconnectUser`. */
export interface DisconnectUserOptions {
  /** Close code, 4000–4999. Default 4003 (`FORBIDDEN`: do not reconnect with the same token). */
  code?: number
  /** Close reason, at most 123 bytes. Default `'disconnected by the server'`. */
  reason?: string
}

/** A running Switchboard node. */
export interface Switchboard {
  /** The resolved options. */
  readonly options: SwitchboardOptions
  /** The node's engines. */
  readonly engines: Engines
  /** The node's logger. */
  readonly logger: Logger
  /** The node's Prometheus metrics (`metrics.registry.metrics()` renders them). */
  readonly metrics: Metrics
  /** Open connections (authenticated or not). */
  readonly connectionCount: number
  /** True from the start of `close()`: new upgrades get 503 and `/readyz` should say not ready. */
  readonly draining: boolean
  /**
   * Handles `upgrade` requests of an existing HTTP server (on `options.path`). Create that server
   * with `createServer(httpServerOptions(switchboard.options), …)` so handshakes that never
   * complete are cut off after `authTimeoutMs`, as on the server `listen()` creates.
   */
  attach(server: Server): void
  /** Creates an HTTP server (404 for plain requests) attached to this node and listens. Default port 0 (any), host 127.0.0.1. */
  listen(port?: number, host?: string): Promise<AddressInfo>
  /**
   * Publishes from application code (e.g. a notification to `user:42`), as `from: "system"`
   * unless told otherwise. Skips publish authorization; validates `data` against the channel's
   * schema. Resolves once the message is stored (persisted channels) and handed to the broker.
   * @throws SwitchboardError `UNKNOWN_CHANNEL`, `VALIDATION`, `CLOSED`, or what the channel's `onPublish` throws.
   */
  publish(channel: string, data: unknown, options?: ServerPublishOptions): Promise<ServerPublishResult>
  /**
   * Reschedules redelivery checks of this node's online recipients from the message store
   * (runs every `redeliveryRebuildMs` by itself); resolves with how many were scheduled. Call it
   * after the queue lost its jobs (a Redis restart without persistence).
   */
  rebuildRedeliveries(): Promise<number>
  /**
   * Applies the history retention of every persisted channel now (what the retention
   * scheduler runs every interval): each definition's `history`, else the store's default.
   * Resolves with how many messages were trimmed; a namespace that fails is logged and skipped.
   */
  enforceRetention(): Promise<number>
  /** Registers a lifecycle hook. */
  addHook<K extends HookName>(name: K, fn: Hooks[K]): void
  /**
   * Closes every connection of `user` on every node (logout, ban), through the broker, with
   * `code` (default 4003, after which clients do not reconnect with the same token) and
   * `reason`. Resolves once the command is handed to the broker.
   * @throws SwitchboardError `CONFIG_INVALID` for a code outside 4000–4999 or a reason over 123 bytes, `CLOSED`;
   *   `INTERNAL` when the broker is down (this node's connections of `user` were closed, other
   *   nodes' may not have been: call it again once the broker is back).
   */
  disconnectUser(user: string, options?: DisconnectUserOptions): Promise<void>
  /** The live nodes of the service (id, start time, connections), from the node registry. */
  nodes(): Promise<NodeInfo[]>
  /**
   * Whether this node should receive traffic: accepting connections (not draining) and every
   * engine answering (broker and presence connected, store answering a ping within 2 s). For
   * `/readyz`. Never rejects.
   */
  readiness(): Promise<Readiness>
  /** The authenticated sessions of this node. */
  sessions(): IterableIterator<Session>
  /**
   * Graceful shutdown within `shutdownMs`: refuse new upgrades (503), close every client with
   * 1001, wait for in-flight handlers and cleanup hooks, then close the channel layer and
   * engines in reverse order of creation. Idempotent: later calls return the same promise.
   */
  close(): Promise<void>
}

/**
 * Creates a Switchboard node. It serves nothing until `attach` or `listen` is called.
 * @throws SwitchboardError `CONFIG_INVALID` when an option is invalid, or when no JWT secret or
 *   JWKS URL is configured and no `authenticate` function is given.
 */
export function createSwitchboard(config: SwitchboardConfig = {}): Switchboard {
  return new SwitchboardNode(config)
}

class SwitchboardNode implements Switchboard {
  readonly options: SwitchboardOptions
  readonly engines: Engines
  readonly logger: Logger
  readonly metrics = new Metrics()
  draining = false

  private readonly hooks: HookRunner
  private readonly cluster: ClusterMember
  private readonly retention: RetentionScheduler
  private readonly pool: DispatchPool
  /** What every connection is given (one object for all of them). */
  private readonly connectionOptions: ConnectionOptions
  private readonly channels: ChannelLayer
  private readonly hub: ChannelHub | undefined
  private readonly router: FrameRouter
  private readonly guard: UpgradeGuard
  private readonly wss: WebSocketServer
  private readonly connections = new Set<Connection>()
  private readonly heartbeat: Heartbeat
  private readonly tokenExpiry: TokenExpiry
  private readonly cleanups = new Set<Promise<void>>()
  private readonly servers = new Map<Server, (req: IncomingMessage, socket: Duplex, head: Buffer) => void>()
  private ownServer: Server | undefined
  private pendingUpgrades = 0
  /** Resolvers waiting for the last connection to end (shutdown). */
  private emptyWaiters: (() => void)[] = []
  private closing: Promise<void> | undefined

  constructor(config: SwitchboardConfig) {
    const { engines, channels, channelLayer, authenticate, hooks, logger, ...plain } = config
    this.options = resolveOptions(plain)
    this.logger = logger ?? createLogger()
    const verifyToken = authenticate ?? createJwtVerifier(this.options.jwt)
    if (this.options.allowedOrigins === '*') {
      this.logger.warn('allowedOrigins is "*": any browser origin may connect (set allowed origins in production)')
    }
    const all = withDefaultEngines(engines, { retentionIntervalMs: this.options.retentionIntervalMs, logger: this.logger })
    this.engines = all
    this.retention = all.retention
    this.cluster = new ClusterMember({
      nodeId: this.options.nodeId,
      broker: all.broker,
      presence: all.presence,
      store: all.store,
      nodes: all.nodes,
      maxConnectionsPerUser: this.options.maxConnectionsPerUser,
      reportMs: this.options.nodeReportMs,
      connectionCount: () => this.connections.size,
      draining: () => this.draining,
      metrics: this.metrics,
      logger: this.logger,
    })
    this.hooks = new HookRunner(this.logger)
    for (const [name, fn] of Object.entries(hooks ?? {})) if (fn) this.hooks.add(name as HookName, fn as never)
    this.connectionOptions = {
      maxBufferedBytes: this.options.maxBufferedBytes,
      closeTimeoutMs: this.options.closeTimeoutMs,
      perMessageDeflate: this.options.perMessageDeflate,
      tally: this.metrics.tally,
    }
    this.pool = new DispatchPool({
      concurrency: this.options.dispatchConcurrency,
      queueCap: this.options.dispatchQueueCap,
      deadlineMs: this.options.handlerDeadlineMs,
    })
    if (channels && channelLayer) throw new SwitchboardError('CONFIG_INVALID', 'give either channels or channelLayer, not both')
    this.hub = channels
      ? new ChannelHub({
          definitions: channels,
          ...this.engines,
          broker: this.cluster.broker,
          maxSubscriptionsPerConnection: this.options.maxSubscriptionsPerConnection,
          redelivery: {
            ackTimeoutMs: this.options.ackTimeoutMs,
            redeliveryAttempts: this.options.redeliveryAttempts,
            redeliveryMaxDelayMs: this.options.redeliveryMaxDelayMs,
            rebuildMs: this.options.redeliveryRebuildMs,
          },
          metrics: this.metrics,
          logger: this.logger,
        })
      : undefined
    if (this.hub?.registry.definitions().some(definition => definition.persist)) {
      this.retention
        .start(() => this.enforceRetention().then(() => undefined))
        .catch(err => {
          if (!this.closing) this.logger.error({ err }, 'starting the retention scheduler failed')
        })
    }
    this.channels =
      this.hub ??
      channelLayer?.({ options: this.options, engines: { ...this.engines, broker: this.cluster.broker }, logger: this.logger }) ??
      NO_CHANNELS
    this.router = new FrameRouter({
      options: this.options,
      verifyToken,
      admission: this.cluster,
      metrics: this.metrics,
      channels: this.channels,
      pool: this.pool,
      hooks: this.hooks,
      logger: this.logger,
    })
    this.guard = new UpgradeGuard(this.options)
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: this.options.maxPayloadBytes,
      perMessageDeflate: this.options.perMessageDeflate,
      // The guard already chose the codec; ws only echoes its subprotocol.
      handleProtocols: (_offered, request) => (request as UpgradeRequest).switchboardCodec?.subprotocol ?? false,
    })
    this.heartbeat = new Heartbeat(this.connections, this.options.heartbeatMs)
    this.heartbeat.start()
    this.tokenExpiry = new TokenExpiry(this.connections, this.router.tokenExpired)
    this.tokenExpiry.start()
    this.cluster.start()
    this.metrics.sources = { connections: () => this.connections.size, dispatchQueued: () => this.pool.queued }
  }

  get connectionCount(): number {
    return this.connections.size
  }

  *sessions(): IterableIterator<Session> {
    for (const connection of this.connections) if (connection.state === 'open') yield connection
  }

  addHook<K extends HookName>(name: K, fn: Hooks[K]): void {
    this.hooks.add(name, fn)
  }

  async disconnectUser(user: string, options: DisconnectUserOptions = {}): Promise<void> {
    if (this.closing) throw new SwitchboardError('CLOSED')
    const code = options.code ?? CLOSE_CODES.FORBIDDEN
    if (!Number.isInteger(code) || code < 4000 || code > 4999) {
      throw new SwitchboardError('CONFIG_INVALID', `disconnectUser: code must be an integer from 4000 to 4999, got ${String(code)}.`)
    }
    const reason = options.reason ?? 'disconnected by the server'
    if (Buffer.byteLength(reason) > 123) throw new SwitchboardError('CONFIG_INVALID', 'disconnectUser: reason must fit in 123 bytes of UTF-8.')
    await this.cluster.disconnectUser(user, code, reason)
  }

  nodes(): Promise<NodeInfo[]> {
    return this.cluster.nodes()
  }

  readiness(): Promise<Readiness> {
    return this.cluster.readiness()
  }

  async rebuildRedeliveries(): Promise<number> {
    return this.hub ? this.hub.rebuildAll() : 0
  }

  async enforceRetention(): Promise<number> {
    if (!this.hub) return 0
    const report = await enforceRetention(this.engines.store, this.hub.registry.definitions(), undefined, this.logger)
    return report.trimmed
  }

  async publish(channel: string, data: unknown, options?: ServerPublishOptions): Promise<ServerPublishResult> {
    if (this.closing) throw new SwitchboardError('CLOSED')
    if (!this.hub) throw new SwitchboardError('UNKNOWN_CHANNEL', `No channel definition matches "${channel}".`)
    return this.hub.publish(channel, data, options)
  }

  attach(server: Server): void {
    if (this.closing) throw new SwitchboardError('CLOSED')
    if (this.servers.has(server)) return
    const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
      this.upgrade(server, request, socket, head)
    }
    this.servers.set(server, onUpgrade)
    server.on('upgrade', onUpgrade)
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<AddressInfo> {
    if (this.closing) throw new SwitchboardError('CLOSED')
    const server = createServer(httpServerOptions(this.options), (_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found\n')
    })
    this.ownServer = server
    this.attach(server)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    return server.address() as AddressInfo
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private upgrade(server: Server, request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A module-level listener: a closure here would share this call's context with the
    // handleUpgrade callback and keep the request (and its headers) alive as long as the socket.
    socket.on('error', destroySocket)
    const path = (request.url ?? '/').split('?', 1)[0]
    if (path !== this.options.path) {
      // Another upgrade handler on the same server may own this path.
      if (server.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404, 'Not found')
      return
    }
    const decision = this.guard.check(request, this.connections.size + this.pendingUpgrades, this.draining)
    if (!decision.accept) {
      refuseUpgrade(socket, decision.status, decision.message, decision.headers)
      return
    }
    ;(request as UpgradeRequest).switchboardCodec = decision.codec
    this.pendingUpgrades += 1
    // handleUpgrade may abort the handshake without calling back (bad headers): release the slot.
    // The listener goes once the upgrade completes, so nothing keeps the request alive.
    const onAbort = (): void => {
      this.pendingUpgrades = Math.max(0, this.pendingUpgrades - 1)
    }
    socket.once('close', onAbort)
    this.wss.handleUpgrade(request, socket, head, ws => {
      socket.off('close', onAbort)
      this.pendingUpgrades -= 1
      this.open(ws, request, decision.codec)
    })
  }

  private open(ws: WebSocket, request: IncomingMessage, codec: Connection['codec']): void {
    const connection = new Connection(randomUUID(), ws, codec, clientIp(request, this.options.trustProxy), this.connectionOptions)
    if (this.draining) {
      ws.on('error', () => {})
      ws.close(CLOSE_CODES.GOING_AWAY, 'server shutting down')
      return
    }
    this.connections.add(connection)
    ws.on('error', err => {
      const code = (err as { code?: string }).code
      connection.closeReason ??= code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'payload-too-big' : 'socket-error'
      // ws closes the socket itself on a protocol violation, with the code it sent.
      if (code?.startsWith('WS_ERR_')) connection.sentCloseCode ??= WS_ERROR_CLOSE_CODES[code] ?? 1002
    })
    ws.on('pong', () => {
      connection.lastSeen = Date.now()
    })
    ws.on('message', (data, isBinary) => this.router.receive(connection, data as Buffer, isBinary))
    // 'close' comes once; `on` spares the wrapper `once` keeps for every connection.
    ws.on('close', received => {
      // 1006 is what ws reports when the peer never echoed our close; hooks get the code we sent.
      const code = received === 1006 && connection.sentCloseCode !== undefined ? connection.sentCloseCode : received
      const cleanup = this.cleanup(connection, code)
      this.cleanups.add(cleanup)
      void cleanup.finally(() => this.cleanups.delete(cleanup))
    })
    this.router.attach(connection)
  }

  /** Runs once per connection from the socket's `close` event, whatever ended it. */
  private async cleanup(connection: Connection, code: number): Promise<void> {
    const wasOpen = connection.state === 'open' || (connection.state === 'closing' && connection.user !== '')
    connection.markClosed()
    this.connections.delete(connection)
    if (this.connections.size === 0) for (const resolve of this.emptyWaiters.splice(0)) resolve()
    if (connection.closeReason === 'slow-consumer') this.metrics.slowConsumers.inc()
    if (!wasOpen) return
    const reason = connection.closeReason ?? (code === 1006 ? 'socket-error' : 'client-close')
    try {
      await this.channels.disconnect(connection)
    } catch (err) {
      this.logger.error({ err, session: connection.id }, 'channel cleanup failed')
    }
    try {
      await this.cluster.release(connection)
    } catch (err) {
      this.logger.error({ err, session: connection.id }, 'releasing the connection from the cluster failed')
    }
    await this.hooks.run('onDisconnect', connection, { code, reason })
  }

  private async shutdown(): Promise<void> {
    const deadline = Date.now() + this.options.shutdownMs
    const remaining = (): number => Math.max(0, deadline - Date.now())
    this.draining = true
    this.ownServer?.close()
    for (const connection of this.connections) {
      if (connection.state === 'authenticating') connection.closeReason = 'server-shutdown'
      connection.close(CLOSE_CODES.GOING_AWAY, 'server shutting down')
    }
    await this.pool.drain(remaining())
    if (this.connections.size > 0) {
      await withTimeout(new Promise<void>(resolve => this.emptyWaiters.push(resolve)), remaining())
    }
    for (const connection of this.connections) connection.terminate('server-shutdown')
    await withTimeout(Promise.allSettled([...this.cleanups]), remaining())
    await this.pool.close()
    this.heartbeat.stop()
    this.tokenExpiry.stop()
    await this.hooks.run('onClose')
    for (const [server, onUpgrade] of this.servers) server.off('upgrade', onUpgrade)
    this.servers.clear()
    await this.closeQuietly('channels', () => this.channels.close())
    await this.closeQuietly('cluster', () => this.cluster.close())
    await this.closeQuietly('nodes', () => this.engines.nodes!.close())
    await this.closeQuietly('retention', () => this.retention.close())
    await this.closeQuietly('queue', () => this.engines.queue.close())
    await this.closeQuietly('sequencer', () => this.engines.sequencer.close())
    await this.closeQuietly('store', () => this.engines.store.close())
    await this.closeQuietly('presence', () => this.engines.presence.close())
    await this.closeQuietly('broker', () => this.engines.broker.close())
    await new Promise<void>(resolve => this.wss.close(() => resolve()))
    if (this.ownServer) {
      this.ownServer.closeAllConnections()
      await new Promise<void>(resolve => (this.ownServer!.listening ? this.ownServer!.close(() => resolve()) : resolve()))
    }
  }

  private async closeQuietly(what: string, close: () => Promise<void>): Promise<void> {
    try {
      await close()
    } catch (err) {
      this.logger.error({ err, what }, 'close failed')
    }
  }
}

/** The close codes `ws` sends for the protocol violations it detects (its error codes). */
const WS_ERROR_CLOSE_CODES: Record<string, number> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 1008,
}

/** The upgrade request with the codec the guard chose. */
type UpgradeRequest = IncomingMessage & { switchboardCodec?: Connection['codec'] }

/** Resolves when `promise` settles or after `timeoutMs`, whichever is first. */
async function withTimeout(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([promise, new Promise(resolve => (timer = setTimeout(resolve, timeoutMs)))])
  clearTimeout(timer)
}

/** `error` listener of upgrading sockets. */
function destroySocket(this: Duplex): void {
  this.destroy()
}
