import type { ServerFrame } from '../protocol/frames.js'
import type { PreparedFrame } from '../protocol/prepared-frame.js'

/**
 * What the channel layer and hooks see of one authenticated connection. Sending never throws:
 * it returns `false` when the frame was not queued (the connection is closed or was just closed
 * as a slow consumer).
 */
export interface Session {
  /** Connection id, unique per node (`connected.session`). */
  readonly id: string
  /** The authenticated user id (the token's `sub`). */
  readonly user: string
  /** The verified token's claims. */
  readonly claims: Readonly<Record<string, unknown>>
  /** The client's IP address as seen by this node. */
  readonly ip: string
  /** Channels this connection is subscribed to; maintained by the channel layer. */
  readonly subscriptions: Set<string>
  /** True once the connection is closing or closed. */
  readonly closed: boolean
  /** Encodes and sends one frame. */
  send(frame: ServerFrame): boolean
  /** Sends a frame encoded once for many recipients (broadcast). */
  sendPrepared(frame: PreparedFrame): boolean
  /** Runs `fn`, whose sends leave in as few writes as possible (one system call for a burst). */
  batch?(fn: () => void): void
  /** Resolves once the outgoing buffer is below half of `maxBufferedBytes` (or the connection closed). */
  writable?(): Promise<void>
  /** Closes the connection with a protocol close code (idempotent). */
  close(code: number, reason?: string): void
}
