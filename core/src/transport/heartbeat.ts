import { CLOSE_CODES } from '../protocol/close-codes.js'
import type { Connection } from './connection.js'

/**
 * One timer for every connection's heartbeat. Each tick (every `intervalMs`) it pings every
 * live connection and closes those that sent nothing and answered no ping for two intervals:
 * with 4002 when the socket still looks writable, a plain terminate when it is dead.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined
  private lastTick: number | undefined

  constructor(
    private readonly connections: ReadonlySet<Connection>,
    private readonly intervalMs: number,
  ) {}

  /** Starts ticking (idempotent). */
  start(): void {
    this.timer ??= setInterval(() => this.tick(Date.now()), this.intervalMs)
  }

  /** Checks and pings every connection once; exposed for tests. */
  tick(now: number): void {
    // A tick that fires late means this process stalled: peers' pongs may be waiting unread,
    // so this round only pings; nobody is reaped for our own delay.
    const stalled = this.lastTick !== undefined && now - this.lastTick > this.intervalMs * 1.5
    this.lastTick = now
    const deadline = now - 2 * this.intervalMs
    for (const connection of this.connections) {
      if (connection.closed) continue
      if (!stalled && connection.lastSeen < deadline) {
        const socket = connection.socket
        if (socket.bufferedAmount > 0 || socket.readyState !== socket.OPEN) connection.terminate('heartbeat-timeout')
        else connection.close(CLOSE_CODES.HEARTBEAT_TIMEOUT, 'missed heartbeats')
        continue
      }
      try {
        connection.socket.ping()
      } catch {
        connection.terminate('socket-error')
      }
    }
  }

  /** Stops ticking (idempotent). */
  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }
}
