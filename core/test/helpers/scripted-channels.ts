import type { ChannelLayer } from '../../src/channels/channel-layer.js'
import type { Presence } from '../../src/engines/presence.js'
import { SwitchboardError } from '../../src/errors.js'
import type { ChannelFrame } from '../../src/protocol/frames.js'
import type { Session } from '../../src/transport/session.js'
import type { TaskDeadline } from '../../src/dispatch/dispatch-pool.js'

/**
 * A small real channel layer for transport tests: `subscribe` records the subscription (and
 * presence, when given), `publish` runs `onPublish` then answers `published`, `unsubscribe`
 * and `ack` behave as the protocol says. It is not the framework's channel layer (that is the
 * channels issue); it lets transport tests drive handlers that block, flood or fail.
 */
export class ScriptedChannels implements ChannelLayer {
  /** Frames handled, in order. */
  readonly handled: ChannelFrame[] = []
  /** Sessions whose `disconnect` ran, with how many times. */
  readonly disconnects = new Map<string, number>()
  closed = false
  private seq = 0

  constructor(
    private readonly behaviour: {
      onPublish?: (frame: Extract<ChannelFrame, { type: 'publish' }>, session: Session, signal: AbortSignal) => Promise<void> | void
      presence?: Presence
    } = {},
  ) {}

  async handle(frame: ChannelFrame, session: Session, deadline: TaskDeadline): Promise<void> {
    this.handled.push(frame)
    if (!frame.channel.startsWith('test:')) throw new SwitchboardError('UNKNOWN_CHANNEL')
    switch (frame.type) {
      case 'subscribe':
        session.subscriptions.add(frame.channel)
        await this.behaviour.presence?.add(frame.channel, session.user, session.id)
        session.send({ type: 'subscribed', id: frame.id, channel: frame.channel, epoch: 'e', seq: this.seq, recovered: false })
        return
      case 'unsubscribe':
        if (!session.subscriptions.delete(frame.channel)) throw new SwitchboardError('NOT_SUBSCRIBED')
        await this.behaviour.presence?.remove(frame.channel, session.user, session.id)
        session.send({ type: 'unsubscribed', id: frame.id, channel: frame.channel })
        return
      case 'publish':
        await this.behaviour.onPublish?.(frame, session, deadline.signal)
        this.seq += 1
        session.send({ type: 'published', id: frame.id, channel: frame.channel, seq: this.seq, mid: `m${this.seq}` })
        return
      default:
        return
    }
  }

  async disconnect(session: Session): Promise<void> {
    this.disconnects.set(session.id, (this.disconnects.get(session.id) ?? 0) + 1)
    for (const channel of session.subscriptions) await this.behaviour.presence?.remove(channel, session.user, session.id)
    session.subscriptions.clear()
  }

  async close(): Promise<void> {
    this.closed = true
  }
}
