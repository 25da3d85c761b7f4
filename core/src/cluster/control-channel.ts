import type { Logger } from 'pino'
import type { Broker, BrokerListener } from '../engines/broker.js'
import { SwitchboardError } from '../errors.js'

/**
 * The broker channel every node subscribes to for cluster-wide commands. `$` cannot start a
 * client channel name, so it never collides with an app's channels.
 */
export const CONTROL_CHANNEL = '$control'

/** A command for every node of the cluster. */
export type ControlMessage = {
  /** Close every connection of `user` on every node. */
  readonly type: 'disconnect'
  readonly user: string
  /** The close code (PROTOCOL.md), e.g. 4003. */
  readonly code: number
  /** The close reason (≤ 123 bytes of UTF-8). */
  readonly reason: string
}

/**
 * Carries {@link ControlMessage}s between nodes over the node's broker. It owns the broker's
 * single listener: payloads on {@link CONTROL_CHANNEL} go to `onMessage`, everything else to
 * the listener the channel layer sets through {@link ControlChannel.broker}, a view of the same
 * broker for the channel layer.
 */
export class ControlChannel {
  /** The broker as the channel layer sees it (same connections; control traffic filtered out). */
  readonly broker: Broker
  private appListener: BrokerListener | undefined

  constructor(
    private readonly inner: Broker,
    private readonly onMessage: (message: ControlMessage) => void,
    private readonly logger: Logger,
  ) {
    inner.setListener((channel, payload) => {
      if (channel === CONTROL_CHANNEL) this.receive(payload)
      else this.appListener?.(channel, payload)
    })
    this.broker = {
      publish: (channel, payload) => inner.publish(channel, payload),
      subscribe: channel => inner.subscribe(channel),
      unsubscribe: channel => inner.unsubscribe(channel),
      setListener: listener => {
        this.appListener = listener
      },
      close: () => inner.close(),
      get ready() {
        return inner.ready
      },
      ...(inner.onReconnect ? { onReconnect: (listener: () => void) => inner.onReconnect!(listener) } : {}),
      ...(inner.hasSubscribers ? { hasSubscribers: (channel: string) => inner.hasSubscribers!(channel) } : {}),
    }
  }

  /** Subscribes this node to the control channel. */
  start(): Promise<void> {
    return this.inner.subscribe(CONTROL_CHANNEL)
  }

  /**
   * Sends `message` to every node, this one included. Rejects with `INTERNAL` when the broker is
   * not live (its Redis connection is down): this node got the message, the others may not have
   * (a broker delivers at most once, and control messages are not replayed), so try again once it
   * is back; the commands are idempotent.
   */
  async send(message: ControlMessage): Promise<void> {
    await this.inner.publish(CONTROL_CHANNEL, JSON.stringify(message))
    if (this.inner.ready === false) {
      throw new SwitchboardError('INTERNAL', 'The broker is down: other nodes may not have received the command; try again once it is back.')
    }
  }

  private receive(payload: string): void {
    let message: ControlMessage
    try {
      message = JSON.parse(payload) as ControlMessage
    } catch (err) {
      this.logger.warn({ err }, 'unreadable control message ignored')
      return
    }
    if (message?.type === 'disconnect' && typeof message.user === 'string') this.onMessage(message)
    else this.logger.warn({ type: (message as { type?: unknown })?.type }, 'unknown control message ignored')
  }
}
