import type { ChannelFrame } from '../protocol/frames.js'
import type { Session } from '../transport/session.js'
import type { TaskDeadline } from '../dispatch/dispatch-pool.js'
import { SwitchboardError } from '../errors.js'

/**
 * The one interface between the transport and channels. The transport authenticates the
 * connection, decodes and validates the frame, applies rate limits, and calls `handle` inside
 * the dispatch pool (with a deadline) for every `subscribe`, `unsubscribe`, `publish`, `ack`,
 * `history` and `presence` frame, one frame of a connection at a time, in arrival order.
 *
 * `handle` sends its replies through `session.send` (so `subscribe` can send `subscribed` and
 * then the replayed messages). Throwing a `SwitchboardError` with a wire code makes the
 * transport answer an `error` frame with that code and the frame's `id`; anything else is
 * answered as `INTERNAL` and logged.
 */
export interface ChannelLayer {
  /** Handles one channel frame of an authenticated connection; `deadline` aborts at the handler deadline. */
  handle(frame: ChannelFrame, session: Session, deadline: TaskDeadline): Promise<void>
  /** Called exactly once when an authenticated connection ends: drop its subscriptions and presence. */
  disconnect(session: Session): Promise<void>
  /** Releases the layer's resources; called once during server close. */
  close(): Promise<void>
}

/** The channel layer used when none is configured: every channel frame gets `UNKNOWN_CHANNEL`. */
export const NO_CHANNELS: ChannelLayer = Object.freeze({
  async handle(frame: ChannelFrame): Promise<void> {
    throw new SwitchboardError('UNKNOWN_CHANNEL', `No channel definition matches "${frame.channel}".`)
  },
  async disconnect(): Promise<void> {},
  async close(): Promise<void> {},
})
