import type { Logger } from 'pino'
import type { Broker } from '../engines/broker.js'
import type { Presence } from '../engines/presence.js'
import type { RedeliveryQueue } from '../engines/queue.js'
import type { Sequencer } from '../engines/sequencer.js'
import type { MessageStore, StoredMessage, StoredMessageJson } from '../engines/store.js'
import { Redeliverer, type RedeliveryOptions } from '../delivery/redelivery.js'
import type { Metrics } from '../observability/metrics.js'
import { SwitchboardError } from '../errors.js'
import { replay } from '../delivery/catch-up.js'
import { PublishPipeline } from '../delivery/publish-pipeline.js'
import { deadlineOf, type TaskDeadline } from '../dispatch/dispatch-pool.js'
import { DEFAULT_HISTORY_LIMIT, type ChannelFrame, type PublishFrame, type SubscribeFrame } from '../protocol/frames.js'
import { messageFrameJson } from '../protocol/message-frame-json.js'
import { PreparedFrame } from '../protocol/prepared-frame.js'
import type { Session } from '../transport/session.js'
import type { ChannelLayer } from './channel-layer.js'
import { ChannelRegistry, type ResolvedChannel } from './channel-registry.js'
import type { AnyChannelDefinition, Authorizer } from './define-channel.js'
import { SubscriptionTable, type Subscriber } from './subscription-table.js'

/** What the hub runs on. */
export interface ChannelHubDeps {
  definitions: readonly AnyChannelDefinition[]
  broker: Broker
  presence: Presence
  store: MessageStore
  sequencer: Sequencer
  queue: RedeliveryQueue
  maxSubscriptionsPerConnection: number
  /** Redelivery tuning, and how often pending redeliveries of online recipients are rebuilt (ms). */
  redelivery: RedeliveryOptions & { rebuildMs: number }
  metrics: Metrics
  logger: Logger
}

/** Options of a server-side publish. */
export interface ServerPublishOptions {
  /** Shown as the message's `from`. Default `"system"`. */
  from?: string
  /** Idempotency key: a repeat on the same channel returns the first message. */
  key?: string
  /** Aborts the publish (e.g. a request deadline). */
  signal?: AbortSignal
}

/** The result of a server-side publish. */
export interface ServerPublishResult {
  readonly channel: string
  readonly seq: number
  readonly epoch: string
  readonly mid: string
  /** True when `key` was seen before and nothing was published again. */
  readonly duplicate: boolean
}

/**
 * The framework's channel layer: resolves channel names to their definitions, authorizes
 * (default deny), validates payloads, persists or numbers messages, fans them out through the
 * broker, replays missed messages on `subscribe` with `since` (or from an at-least-once
 * recipient's acked cursor), and keeps presence with `join`/`leave` events.
 */
export class ChannelHub implements ChannelLayer {
  readonly registry: ChannelRegistry
  private readonly table: SubscriptionTable
  private readonly pipeline: PublishPipeline
  private readonly redeliverer: Redeliverer
  private readonly rebuildTimer: NodeJS.Timeout
  /** `onPublished` hooks still running (shutdown waits for them). */
  private readonly published = new Set<Promise<void>>()
  /** The `rebuildAll` in progress, if any. */
  private rebuilding: Promise<number> | undefined
  /**
   * Presence entries whose removal failed (the presence engine unreachable), by channel and
   * connection: removed again every `redeliveryRebuildMs`, so the user does not stay present
   * for as long as this node lives.
   */
  private readonly unremoved = new Map<string, { readonly channel: string; readonly session: Session }>()
  /** Removes the engine listeners registered by the constructor. */
  private readonly unlisten: (() => void)[] = []

  constructor(private readonly deps: ChannelHubDeps) {
    this.registry = new ChannelRegistry(deps.definitions)
    this.table = new SubscriptionTable(deps.broker, deps.logger, {
      isPersisted: channel => this.registry.resolve(channel).definition.persist,
      range: (channel, afterSeq, limit) => deps.store.range(channel, afterSeq, limit),
    }, seconds => deps.metrics.deliveryLatency.observe(Math.max(0, seconds)))
    this.pipeline = new PublishPipeline(deps.store, deps.sequencer, this.table)
    this.redeliverer = new Redeliverer(
      deps.store,
      deps.queue,
      this.registry,
      (user, message) => this.table.redeliver(user, message),
      deps.redelivery,
      deps.metrics,
      deps.logger,
    )
    this.rebuildTimer = setInterval(() => {
      void this.rebuildAll()
      void this.retryUnremoved()
    }, deps.redelivery.rebuildMs)
    const unlisten = this.unlisten
    // The broker may have dropped payloads while it was away, and Redis may have lost the queue's jobs.
    const onReconnect = deps.broker.onReconnect?.(() => {
      deps.metrics.engineErrors.inc({ engine: 'broker' })
      this.refill()
      void this.rebuildAll()
    })
    if (onReconnect) unlisten.push(onReconnect)
    const onLeave = deps.presence.onLeave?.(leave => void this.announceLeave(leave.channel, leave.user))
    if (onLeave) unlisten.push(onLeave)
    const onReset = deps.presence.onReset?.(() => {
      deps.metrics.engineErrors.inc({ engine: 'presence' })
      void this.restorePresence()
    })
    if (onReset) unlisten.push(onReset)
  }

  /**
   * Announces `leave` to every node's subscribers of `channel` for a user whose connections
   * went away with a dead node (the presence engine reports each such leave once).
   */
  private async announceLeave(channel: string, user: string): Promise<void> {
    try {
      if (channel.startsWith('$') || !this.registry.resolve(channel).definition.presence) return
      await this.table.publish(channel, { type: 'leave', channel, user })
    } catch (err) {
      this.deps.logger.warn({ err, channel }, 'announcing a leave failed')
    }
  }

  /**
   * Adds this node's connections to the presence of their channels again, after the presence
   * engine lost them (Redis restarted empty, or this node was swept while stalled); a user who
   * thereby becomes present again is announced with `join`.
   */
  private async restorePresence(): Promise<void> {
    for (const [channel, sessions] of this.table.channelSessions()) {
      try {
        if (!this.registry.resolve(channel).definition.presence) continue
        for (const session of sessions) {
          if (session.closed || !session.subscriptions.has(channel)) continue
          const joined = await this.deps.presence.add(channel, session.user, session.id)
          // It may have left while this ran: its leave removed nothing, so undo the add.
          if (session.closed || !session.subscriptions.has(channel)) await this.deps.presence.remove(channel, session.user, session.id)
          else if (joined) await this.table.publish(channel, { type: 'join', channel, user: session.user })
        }
      } catch (err) {
        this.deps.logger.warn({ err, channel }, 'restoring presence failed')
      }
    }
  }

  /**
   * Reschedules redelivery checks of every at-least-once subscription of this node's
   * connections from the store (acked cursor vs latest seq), so nothing depends on the queue
   * keeping its jobs. Runs every `redeliveryRebuildMs`; call it after the queue lost its state.
   */
  rebuildAll(): Promise<number> {
    // A call while a rebuild runs joins it: with the queue's Redis down a run waits, and runs must not pile up.
    this.rebuilding ??= this.rebuildEach().finally(() => {
      this.rebuilding = undefined
    })
    return this.rebuilding
  }

  private async rebuildEach(): Promise<number> {
    const done = new Set<string>()
    let scheduled = 0
    for (const session of this.table.userConnections()) {
      for (const channel of session.subscriptions) {
        const key = `${channel}\n${session.user}`
        if (done.has(key) || this.registry.resolve(channel).definition.delivery !== 'at-least-once') continue
        done.add(key)
        try {
          scheduled += await this.redeliverer.rebuild(channel, session.user)
        } catch (err) {
          this.deps.logger.error({ err, channel }, 'rebuilding redeliveries failed')
        }
      }
    }
    return scheduled
  }

  /**
   * Sends every live subscriber of a persisted channel what the store holds after its last seq.
   * Call it when the broker reconnected (it may have dropped messages while it was down).
   */
  refill(): void {
    this.table.refillAll()
  }

  /** Local subscribers of `channel` on this node. */
  localSubscribers(channel: string): number {
    return this.table.count(channel)
  }

  handle(frame: ChannelFrame, session: Session, deadline: TaskDeadline): Promise<void> {
    let resolved: ResolvedChannel
    try {
      resolved = this.registry.resolve(frame.channel)
    } catch (error) {
      return Promise.reject(error)
    }
    // The hot path, kept apart: one async frame per publish, not two.
    if (frame.type === 'publish') return this.publishFrame(frame, resolved, session, deadline)
    return this.handleOther(frame, resolved, session, deadline)
  }

  /** A client's `publish`: authorize, run the pipeline (the reply goes out once stored), then the after-publish work. */
  private async publishFrame(frame: PublishFrame, resolved: ResolvedChannel, session: Session, deadline: TaskDeadline): Promise<void> {
    const allowed = resolved.definition.authorize.publish({ channel: resolved.name, params: resolved.params, user: session.user, session })
    // A rule answering synchronously (the usual case) costs no await.
    if (allowed !== true && (allowed === false || (await allowed) !== true)) throw forbidden(resolved.name)
    const outcome = await this.pipeline.publish({ resolved, data: frame.data, from: session.user, session, deadline, key: frame.key }, ({ message }) => {
      // Past the deadline the client was already answered TIMEOUT (outcome unknown): one reply per frame.
      if (!deadline.aborted) session.send({ type: 'published', id: frame.id, channel: frame.channel, seq: message.seq, mid: message.mid })
    })
    this.afterPublish(resolved, outcome.message, outcome.duplicate)
  }

  /**
   * The other channel frames. Past the deadline the client was already answered `TIMEOUT`, so
   * no reply goes out then (one reply per frame); a subscribe is undone instead (see `subscribe`).
   */
  private async handleOther(frame: Exclude<ChannelFrame, PublishFrame>, resolved: ResolvedChannel, session: Session, deadline: TaskDeadline): Promise<void> {
    switch (frame.type) {
      case 'subscribe':
        return this.subscribe(frame, resolved, session, deadline)
      case 'unsubscribe':
        if (!session.subscriptions.has(frame.channel)) throw notSubscribed(frame.channel)
        await this.leave(session, resolved)
        if (!deadline.aborted) session.send({ type: 'unsubscribed', id: frame.id, channel: frame.channel })
        return
      case 'ack':
        if (!session.subscriptions.has(frame.channel)) throw notSubscribed(frame.channel)
        if (resolved.definition.persist && resolved.definition.delivery === 'at-least-once') {
          await this.deps.store.ack(frame.channel, session.user, frame.seq)
        }
        return
      case 'history': {
        await this.authorize(resolved.definition.authorize.history, resolved, session)
        const limit = frame.limit ?? DEFAULT_HISTORY_LIMIT
        const messages = resolved.definition.persist
          ? await this.deps.store.history(frame.channel, frame.before === undefined ? { limit } : { before: frame.before, limit })
          : []
        if (!deadline.aborted) session.send({ type: 'history', id: frame.id, channel: frame.channel, messages })
        return
      }
      case 'presence': {
        await this.authorize(resolved.definition.authorize.presence, resolved, session)
        if (!resolved.definition.presence) throw new SwitchboardError('FORBIDDEN', 'Presence is not enabled on this channel.')
        const members = await this.deps.presence.members(frame.channel)
        if (!deadline.aborted) session.send({ type: 'presence', id: frame.id, channel: frame.channel, members })
        return
      }
    }
  }

  /**
   * Publishes from application code (notifications, system messages). Skips the channel's
   * publish authorization; validates `data` and runs `onPublish` like a client publish.
   * @throws SwitchboardError `UNKNOWN_CHANNEL`, `VALIDATION`, or what `onPublish` or the store throw.
   */
  async publish(channel: string, data: unknown, options: ServerPublishOptions = {}): Promise<ServerPublishResult> {
    const resolved = this.registry.resolve(channel)
    const { message, duplicate } = await this.pipeline.publish({
      resolved,
      data,
      from: options.from ?? 'system',
      deadline: deadlineOf(options.signal),
      key: options.key,
    })
    this.afterPublish(resolved, message, duplicate)
    return { channel, seq: message.seq, epoch: message.epoch, mid: message.mid, duplicate }
  }

  async disconnect(session: Session): Promise<void> {
    for (const channel of [...session.subscriptions]) {
      try {
        await this.leave(session, this.registry.resolve(channel))
      } catch (err) {
        this.deps.logger.error({ err, channel, session: session.id }, 'leaving a channel failed')
      }
    }
    await this.table.removeUserConnection(session)
  }

  async close(): Promise<void> {
    clearInterval(this.rebuildTimer)
    for (const unlisten of this.unlisten.splice(0)) unlisten()
    await Promise.allSettled([...this.published])
  }

  /** Runs the definition's `onPublished` detached; what it throws is logged. */
  private runPublished(resolved: ResolvedChannel, message: StoredMessage): void {
    const { logger } = this.deps
    const run = (async () => {
      // After this tick: a hook that throws at once still fails nothing of the publish.
      await Promise.resolve()
      await resolved.definition.onPublished!({
        channel: resolved.name,
        params: resolved.params,
        message,
        publish: (channel, data, options) => this.publish(channel, data, options),
        logger,
      })
    })().catch(err => logger.error({ err, channel: resolved.name, mid: message.mid }, 'onPublished failed'))
    this.published.add(run)
    void run.finally(() => this.published.delete(run))
  }

  /**
   * Counts the publish, starts `onPublished`, and on at-least-once channels starts scheduling
   * the recipients' first redelivery checks. Nothing here is waited for: with the queue's Redis
   * down, scheduling waits until it is back, and a publish (or its dispatch slot) must not; a
   * check that is never scheduled is repaired by the periodic rebuild from the store.
   */
  private afterPublish(resolved: ResolvedChannel, message: StoredMessage, duplicate: boolean): void {
    const { definition } = resolved
    if (!duplicate) this.deps.metrics.countPublish(definition.namespace)
    if (!duplicate && definition.onPublished) this.runPublished(resolved, message)
    // Redelivery checks are scheduled again for a repeat too (the first may have failed before it); they are idempotent.
    if (definition.delivery !== 'at-least-once' || !definition.recipients) return
    void this.scheduleRedelivery(resolved, message)
  }

  /** Schedules the first redelivery checks of `message`'s recipients. Never rejects: failures are logged. */
  private async scheduleRedelivery(resolved: ResolvedChannel, message: StoredMessage): Promise<void> {
    try {
      const recipients = resolved.definition.recipients!({ params: resolved.params, from: message.from })
      await this.redeliverer.delivered(message, recipients)
    } catch (err) {
      this.deps.logger.error({ err, channel: message.channel }, 'scheduling redelivery failed')
    }
  }

  /**
   * Subscribes `session` to a channel: sets the subscription up (live traffic held back, the
   * stream position read, the at-least-once cursor and user channel), answers `subscribed`,
   * replays what was missed, then passes live traffic. A setup that fails, or that ends past the
   * deadline (the client already has `TIMEOUT`), is undone before the error goes out: a fresh
   * subscription is removed, and a resubscribe leaves the subscription as it was before.
   */
  private async subscribe(frame: SubscribeFrame, resolved: ResolvedChannel, session: Session, deadline: TaskDeadline): Promise<void> {
    const { definition } = resolved
    const channel = frame.channel
    const resubscribe = session.subscriptions.has(channel)
    if (!resubscribe && session.subscriptions.size >= this.deps.maxSubscriptionsPerConnection) {
      throw new SwitchboardError('TOO_MANY_SUBSCRIPTIONS')
    }
    await this.authorize(definition.authorize.subscribe, resolved, session)

    let epoch: string
    let latest: number
    let from: number | undefined
    let recovered = false
    // Receive live traffic (held back) before reading the store, so nothing falls between them.
    const replaced = this.table.subscriber(channel, session)
    session.subscriptions.add(channel)
    try {
      await this.table.add(channel, session)
      if (definition.persist) {
        const position = await this.deps.store.position(channel)
        ;({ epoch, seq: latest } = position)
        const since = frame.since
        if (since && since.epoch === epoch && since.seq <= latest && since.seq >= position.oldestSeq - 1) {
          from = since.seq
          recovered = true
        } else if (definition.delivery === 'at-least-once') {
          from = Math.max(await this.deps.store.cursor(channel, session.user), position.oldestSeq - 1)
        }
      } else {
        ;({ epoch, seq: latest } = await this.deps.sequencer.current(channel))
      }
      if (definition.delivery === 'at-least-once') await this.table.addUserConnection(session)
    } catch (error) {
      await this.undoSubscribe(session, resolved, replaced)
      throw error
    }
    if (deadline.aborted) return this.undoSubscribe(session, resolved, replaced)
    session.send({ type: 'subscribed', id: frame.id, channel, epoch, seq: latest, recovered })
    // The reply is out: what fails from here on is logged, never answered (one reply per frame).
    let replayed = true
    if (from !== undefined) {
      try {
        await this.replay(session, channel, from, latest)
      } catch (err) {
        // An error now would reach nobody and leave the subscriber held back for good. What the
        // replay did not send comes from the store.
        this.deps.logger.warn({ err, channel, session: session.id }, 'replay failed; filling the rest from the store')
        replayed = false
        this.table.markSent(channel, session, from)
        this.table.refill(channel, session)
      }
    }
    if (replayed) {
      // Live traffic continues after the latest seq: a later jump is a gap to fill from the store.
      if (definition.persist) this.table.markSent(channel, session, latest)
      this.table.goLive(channel, session)
    }
    // Replayed messages not acked yet get their redelivery checks too.
    if (definition.delivery === 'at-least-once' && from !== undefined) {
      // Not waited for, as after a publish (see afterPublish).
      void this.redeliverer.rebuild(channel, session.user).catch(err => this.deps.logger.error({ err, channel }, 'scheduling redelivery failed'))
    }
    if (definition.presence && !resubscribe) {
      try {
        if (await this.deps.presence.add(channel, session.user, session.id)) await this.table.publish(channel, { type: 'join', channel, user: session.user })
      } catch (err) {
        this.deps.logger.error({ err, channel, session: session.id }, 'joining presence failed')
      }
    }
    // The connection may have ended while this ran; its cleanup may have missed what we just added.
    if (session.closed) await this.leave(session, resolved)
  }

  /**
   * Undoes a subscribe whose setup failed or timed out: a fresh subscription is removed again
   * (presence was not joined yet), a resubscribe's `replaced` subscriber is put back. Never throws.
   */
  private async undoSubscribe(session: Session, resolved: ResolvedChannel, replaced: Subscriber | undefined): Promise<void> {
    const channel = resolved.name
    if (replaced !== undefined) return this.table.restore(channel, session, replaced)
    session.subscriptions.delete(channel)
    try {
      await this.table.remove(channel, session)
      if (resolved.definition.delivery === 'at-least-once' && !this.hasAtLeastOnce(session)) await this.table.removeUserConnection(session)
    } catch (err) {
      this.deps.logger.error({ err, channel, session: session.id }, 'undoing a failed subscribe failed')
    }
  }

  /**
   * Sends `session` the stored messages of `channel` after seq `from` up to `latest`. With a
   * store that has `rangeJson`, each frame is written from the stored JSON text, the payload
   * spliced in unparsed (a MessagePack session parses the frame, as for broker payloads).
   */
  private replay(session: Session, channel: string, from: number, latest: number): Promise<void> {
    const store = this.deps.store
    const batch = (sendPage: () => void): void => (session.batch ? session.batch(sendPage) : sendPage())
    const writable = (): Promise<void> => session.writable?.() ?? Promise.resolve()
    if (store.rangeJson) {
      const rangeJson = store.rangeJson.bind(store)
      const send = (message: StoredMessageJson): boolean => {
        this.table.markSent(channel, session, message.seq)
        return session.sendPrepared(PreparedFrame.fromJson(messageFrameJson(message), 'message'))
      }
      return replay((after, limit) => rangeJson(channel, after, limit), from, latest, send, batch, writable)
    }
    const send = (message: StoredMessage): boolean => {
      this.table.markSent(channel, session, message.seq)
      return session.send({ type: 'message', ...message })
    }
    return replay((after, limit) => store.range(channel, after, limit), from, latest, send, batch, writable)
  }

  /** Drops the session's subscription and presence on a channel (idempotent). */
  private async leave(session: Session, resolved: ResolvedChannel): Promise<void> {
    const channel = resolved.name
    session.subscriptions.delete(channel)
    await this.table.remove(channel, session)
    if (resolved.definition.presence) await this.leavePresence(channel, session)
    if (resolved.definition.delivery === 'at-least-once' && !this.hasAtLeastOnce(session)) await this.table.removeUserConnection(session)
  }

  /** Removes the session's presence entry in `channel`, announcing `leave` for a user's last; a failure is logged and tried again later (see `unremoved`). */
  private async leavePresence(channel: string, session: Session): Promise<void> {
    let left: boolean
    try {
      left = await this.deps.presence.remove(channel, session.user, session.id)
    } catch (err) {
      this.unremoved.set(`${channel}\u0000${session.id}`, { channel, session })
      this.deps.logger.warn({ err, channel, session: session.id }, 'leaving presence failed; trying again later')
      return
    }
    if (left) await this.table.publish(channel, { type: 'leave', channel, user: session.user })
  }

  /** Tries the failed presence removals again; stops at the first failure (still unreachable). */
  private async retryUnremoved(): Promise<void> {
    for (const [key, { channel, session }] of this.unremoved) {
      // Subscribed again meanwhile: the entry is wanted now.
      if (!session.closed && session.subscriptions.has(channel)) {
        this.unremoved.delete(key)
        continue
      }
      let left: boolean
      try {
        left = await this.deps.presence.remove(channel, session.user, session.id)
      } catch {
        return
      }
      this.unremoved.delete(key)
      if (left) await this.table.publish(channel, { type: 'leave', channel, user: session.user }).catch(err => this.deps.logger.warn({ err, channel }, 'announcing a leave failed'))
    }
  }

  private hasAtLeastOnce(session: Session): boolean {
    for (const channel of session.subscriptions) if (this.registry.resolve(channel).definition.delivery === 'at-least-once') return true
    return false
  }

  private async authorize(rule: Authorizer<Record<string, string>>, resolved: ResolvedChannel, session: Session): Promise<void> {
    const allowed = await rule({ channel: resolved.name, params: resolved.params, user: session.user, session })
    if (allowed !== true) throw forbidden(resolved.name)
  }
}

function forbidden(channel: string): SwitchboardError {
  return new SwitchboardError('FORBIDDEN', `Not allowed on "${channel}".`)
}

function notSubscribed(channel: string): SwitchboardError {
  return new SwitchboardError('NOT_SUBSCRIBED', `Not subscribed to "${channel}".`)
}
