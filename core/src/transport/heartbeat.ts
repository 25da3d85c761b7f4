import { CLOSE_CODES } from '../protocol/close-codes.js'
import type { Connection } from './connection.js'

/** What the heartbeat uses of a connection. */
export type HeartbeatPeer = Pick<Connection, 'closed' | 'lastSeen' | 'socket' | 'close' | 'terminate'>

/** The heartbeat ticks about four times a second: a round of `intervalMs` is cut into slices of about this many ms. */
const SLICE_TARGET_MS = 250

/** At most this many slices per round, however long the interval (a minute's round). */
const MAX_SLICES = 240

/**
 * Slices of one heartbeat round of `intervalMs`: one per 250 ms or so, at least 1 (short
 * intervals, as tests use, tick once per interval), at most {@link MAX_SLICES}.
 */
export function heartbeatSlices(intervalMs: number): number {
  return Math.max(1, Math.min(MAX_SLICES, Math.round(intervalMs / SLICE_TARGET_MS)))
}

/**
 * The server's heartbeat, one timer for every connection. Every connection is visited once per
 * `intervalMs`: pinged, or closed when it sent nothing and answered no ping for two intervals
 * (with 4002 when the socket still looks writable, a plain terminate when it is dead).
 *
 * A round is spread over the interval in slices ({@link heartbeatSlices}: a tick about every
 * 250 ms, each visiting its share of the connections), not swept in one go: with 19,500
 * idle connections one sweep stalled the event loop for 469 ms on a 2-core machine, and every
 * message arriving meanwhile waited for it; sliced, the longest stall there was 25 ms (at
 * 100,000 connections a sweep would take seconds).
 */
export class Heartbeat {
  readonly slices: number
  private timer: NodeJS.Timeout | undefined
  private lastTick: number | undefined
  /** The current round's walk over the connections (a Set iterator also visits connections added meanwhile). */
  private round: Iterator<HeartbeatPeer> | undefined
  /** Ticks taken by the current round so far. */
  private roundTicks = 0
  /** Connections visited in the current round so far. */
  private visited = 0

  constructor(
    private readonly connections: ReadonlySet<HeartbeatPeer>,
    private readonly intervalMs: number,
  ) {
    this.slices = heartbeatSlices(intervalMs)
  }

  /** Starts ticking (idempotent). */
  start(): void {
    this.timer ??= setInterval(() => this.tick(Date.now()), this.intervalMs / this.slices)
  }

  /**
   * One slice of a round: visits the share of connections left to this tick (all that are left
   * on the round's last tick), then the round ends when its last slice has run. Exposed for tests.
   */
  tick(now: number): void {
    // A tick that fires late means this process stalled: peers' pongs may be waiting unread,
    // so this tick only pings; nobody is reaped for our own delay.
    const stalled = this.lastTick !== undefined && now - this.lastTick > this.intervalMs / this.slices + this.intervalMs / 2
    this.lastTick = now
    if (this.roundTicks === 0) {
      this.round = this.connections.values()
      this.visited = 0
    }
    const ticksLeft = this.slices - this.roundTicks
    this.roundTicks = ticksLeft === 1 ? 0 : this.roundTicks + 1
    const deadline = now - 2 * this.intervalMs
    let quota = ticksLeft === 1 ? Number.POSITIVE_INFINITY : Math.ceil((this.connections.size - this.visited) / ticksLeft)
    while (quota-- > 0) {
      const next = this.round!.next()
      if (next.done) break
      this.visited += 1
      visit(next.value, deadline, stalled)
    }
  }

  /** Stops ticking (idempotent). */
  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }
}

/** Pings `connection`, or closes it when it has been silent since before `deadline` (unless `stalled`). */
function visit(connection: HeartbeatPeer, deadline: number, stalled: boolean): void {
  if (connection.closed) return
  if (!stalled && connection.lastSeen < deadline) {
    const socket = connection.socket
    if (socket.bufferedAmount > 0 || socket.readyState !== socket.OPEN) connection.terminate('heartbeat-timeout')
    else connection.close(CLOSE_CODES.HEARTBEAT_TIMEOUT, 'missed heartbeats')
    return
  }
  try {
    connection.socket.ping()
  } catch {
    connection.terminate('socket-error')
  }
}
