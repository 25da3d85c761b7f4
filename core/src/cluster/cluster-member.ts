import type { Logger } from 'pino'
import type { Broker } from '../engines/broker.js'
import type { NodeInfo, NodeRegistry } from '../engines/node-registry.js'
import type { Presence } from '../engines/presence.js'
import type { MessageStore } from '../engines/store.js'
import type { Metrics } from '../observability/metrics.js'
import type { Admission } from '../transport/frame-router.js'
import type { Connection } from '../transport/connection.js'
import { ControlChannel, type ControlMessage } from './control-channel.js'
import { UserConnectionLimit } from './user-connection-limit.js'

/** What a node reports to `/readyz`: ready only when every check passes. */
export interface Readiness {
  /** True when the node accepts connections and every engine answers. */
  readonly ready: boolean
  readonly checks: {
    /** False while draining (shutdown). */
    readonly accepting: boolean
    /** The broker reaches the other nodes (always true for a single-process broker). */
    readonly broker: boolean
    /** The presence backend answers. */
    readonly presence: boolean
    /** The message store answered a ping within the probe's budget. */
    readonly store: boolean
  }
}

/** What {@link ClusterMember} runs on. */
export interface ClusterMemberDeps {
  nodeId: string
  broker: Broker
  presence: Presence
  store: MessageStore
  nodes: NodeRegistry
  /** Connections one user may hold across all nodes; 0 = no limit. */
  maxConnectionsPerUser: number
  /** How often the node reports itself to the registry (ms). */
  reportMs: number
  /** The node's open connections now. */
  connectionCount: () => number
  /** Whether the node is draining. */
  draining: () => boolean
  metrics: Metrics
  logger: Logger
}

/** How long a readiness probe waits for the store's ping (ms). */
const STORE_PING_BUDGET_MS = 2000

/**
 * A node's part in the cluster: it admits connections (per-user limit across nodes), keeps an
 * index of its connections by user so `disconnectUser` commands from any node reach them,
 * reports itself to the node registry, and answers readiness probes from its engines' state.
 */
export class ClusterMember implements Admission {
  /** The broker for the channel layer (control traffic filtered out). */
  readonly broker: Broker
  private readonly control: ControlChannel
  private readonly limit: UserConnectionLimit
  /** This node's connections by user: the connection itself while a user has one (most do), a set past that. */
  private readonly byUser = new Map<string, Connection | Set<Connection>>()
  private readonly startedAt = Date.now()
  private readonly unlisten: (() => void)[] = []
  private reportTimer: NodeJS.Timeout | undefined
  private reporting: Promise<void> | undefined

  constructor(private readonly deps: ClusterMemberDeps) {
    this.control = new ControlChannel(deps.broker, message => this.onControl(message), deps.logger)
    this.broker = this.control.broker
    this.limit = new UserConnectionLimit(deps.presence, deps.maxConnectionsPerUser)
  }

  /** Subscribes to cluster commands and starts reporting to the registry. */
  start(): void {
    this.control.start().catch(err => this.deps.logger.error({ err }, 'subscribing to cluster commands failed'))
    const onReset = this.deps.presence.onReset?.(() => {
      this.limit.restore().catch(err => this.deps.logger.warn({ err }, 'restoring per-user connection counts failed'))
    })
    if (onReset) this.unlisten.push(onReset)
    this.report()
    this.reportTimer = setInterval(() => this.report(), this.deps.reportMs)
  }

  async admit(session: Connection): Promise<void> {
    await this.limit.acquire(session)
    const sessions = this.byUser.get(session.user)
    if (sessions === undefined) this.byUser.set(session.user, session)
    else if (sessions instanceof Set) sessions.add(session)
    else if (sessions !== session) this.byUser.set(session.user, new Set([sessions, session]))
  }

  async release(session: Connection): Promise<void> {
    const sessions = this.byUser.get(session.user)
    if (sessions === session) this.byUser.delete(session.user)
    else if (sessions instanceof Set && sessions.delete(session) && sessions.size === 0) this.byUser.delete(session.user)
    await this.limit.release(session)
  }

  /** Asks every node (this one included) to close `user`'s connections with `code`. */
  disconnectUser(user: string, code: number, reason: string): Promise<void> {
    return this.control.send({ type: 'disconnect', user, code, reason })
  }

  /** The live nodes of the cluster. */
  nodes(): Promise<NodeInfo[]> {
    return this.deps.nodes.list()
  }

  /** Checks the engines now. Never rejects. */
  async readiness(): Promise<Readiness> {
    const { broker, presence, store } = this.deps
    const storeOk = store.ping
      ? await withBudget(store.ping(), STORE_PING_BUDGET_MS).then(
          () => true,
          () => {
            this.deps.metrics.engineErrors.inc({ engine: 'store' })
            return false
          },
        )
      : true
    const checks = {
      accepting: !this.deps.draining(),
      broker: broker.ready ?? true,
      presence: presence.ready ?? true,
      store: storeOk,
    }
    return { ready: Object.values(checks).every(Boolean), checks }
  }

  /** Stops reporting and removes this node from the registry. */
  async close(): Promise<void> {
    clearInterval(this.reportTimer)
    for (const unlisten of this.unlisten.splice(0)) unlisten()
    await this.reporting
    await this.deps.nodes.leave(this.deps.nodeId).catch(err => this.deps.logger.warn({ err }, 'leaving the node registry failed'))
  }

  private onControl(message: ControlMessage): void {
    const found = this.byUser.get(message.user)
    if (!found) return
    for (const session of found instanceof Set ? [...found] : [found]) {
      session.closeReason ??= 'disconnected'
      session.close(message.code, message.reason)
    }
  }

  private report(): void {
    if (this.reporting) return
    const { nodes, nodeId, metrics, logger } = this.deps
    this.reporting = (async () => {
      try {
        await nodes.report({ id: nodeId, startedAt: this.startedAt, connections: this.deps.connectionCount() })
        metrics.clusterNodes.set((await nodes.list()).length)
      } catch (err) {
        metrics.engineErrors.inc({ engine: 'nodes' })
        logger.warn({ err }, 'reporting to the node registry failed')
      } finally {
        this.reporting = undefined
      }
    })()
  }
}

/** Rejects when `promise` has not settled within `ms`. */
function withBudget<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
