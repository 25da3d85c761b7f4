/**
 * The client side of the heartbeat (PROTOCOL.md, "Heartbeat"): browsers cannot see WebSocket
 * pings, so the client sends `ping` every `intervalMs` and treats two intervals without an
 * answer as a dead connection. Any frame from the server counts as an answer (a `pong` queued
 * behind a burst of messages is as good as the messages themselves). One timer per client.
 */
export class Heartbeat {
  private timer: ReturnType<typeof setInterval> | undefined
  private unanswered = 0

  /**
   * @param sendPing sends one `ping` frame.
   * @param onDead called once when two pings in a row went unanswered (the caller reconnects).
   */
  constructor(
    private readonly sendPing: () => void,
    private readonly onDead: () => void,
  ) {}

  /** Starts pinging every `intervalMs` (restarts if running). `intervalMs` 0 disables the heartbeat. */
  start(intervalMs: number): void {
    this.stop()
    if (intervalMs <= 0) return
    this.timer = setInterval(() => this.tick(), intervalMs)
  }

  /** Call on every frame received: the connection is alive. */
  alive(): void {
    this.unanswered = 0
  }

  /** Stops the timer (idempotent). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    this.unanswered = 0
  }

  private tick(): void {
    if (this.unanswered >= 2) {
      this.stop()
      this.onDead()
      return
    }
    this.unanswered += 1
    this.sendPing()
  }
}
