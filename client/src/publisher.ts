import { backoffDelay, type BackoffOptions } from './backoff.js'
import { SwitchboardClientError } from './errors.js'
import type { RequestFrame, ServerFrame } from './frames.js'
import { idempotencyKey } from './keys.js'

/** What a publish resolves with: the message's place in the channel's stream. */
export interface PublishResult {
  /** The message's seq in its channel. */
  readonly seq: number
  /** The message id. */
  readonly mid: string
}

/** Options of one publish. */
export interface PublishOptions {
  /** Idempotency key (1..128 chars). Default: a fresh random key, kept across resends. */
  key?: string
  /**
   * Drop instead of queue: reject with `DISCONNECTED` when not connected, or when the connection
   * drops before the answer (typing indicators, cursors). Default false.
   */
  volatile?: boolean
}

/** What the publisher needs from the client. */
export interface PublisherDeps {
  /** Sends a request on the current connection; rejects with `DISCONNECTED` when there is none or it drops. */
  request(frame: RequestFrame): Promise<ServerFrame>
  /** Whether a connection is ready for frames. */
  connected(): boolean
  /** The encoded size of a frame in bytes. */
  frameSize(frame: object): number
  limit: number
  window: number
  retries: number
  maxPayloadBytes: number
  backoff: BackoffOptions
}

interface Entry {
  readonly channel: string
  readonly data: unknown
  readonly key: string
  readonly volatile: boolean
  readonly size: number
  resolve(result: PublishResult): void
  reject(error: SwitchboardClientError): void
  /** Failed attempts answered with a retryable code. */
  failures: number
  inFlight: boolean
  /** Not before this time (ms since the epoch), after a retryable failure. */
  notBefore: number
  settled: boolean
}

/**
 * Sends publishes in call order with at most `window` in flight, each with an idempotency key
 * that stays the same across resends, so the server stores each message once however often it
 * is sent. Holds unanswered publishes (at most `limit`) across disconnects and resends them on
 * the next connection; retries `INTERNAL`/`TIMEOUT`/`OVERLOADED`/`RATE_LIMITED` answers (the
 * outcome may be unknown) with backoff, pausing all sends after `RATE_LIMITED`.
 */
export class Publisher {
  private readonly entries: Entry[] = []
  private inFlight = 0
  private pausedUntil = 0
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(private readonly deps: PublisherDeps) {}

  /** Unanswered publishes (queued, waiting to retry, or in flight). */
  get size(): number {
    return this.entries.length
  }

  /**
   * Publishes `data` to `channel`. Resolves with the stored message's `{ seq, mid }`.
   * @throws (rejects) `QUEUE_FULL`, `TOO_LARGE`, `DISCONNECTED` (volatile), the server's code
   *   (`VALIDATION`, `FORBIDDEN`, …; retryable codes only after `retries` retries), `CLOSED`.
   */
  publish(channel: string, data: unknown, options: PublishOptions = {}): Promise<PublishResult> {
    const key = options.key ?? idempotencyKey()
    const volatile = options.volatile === true
    if (typeof key !== 'string' || key.length === 0 || key.length > 128) {
      return Promise.reject(new SwitchboardClientError('BAD_FRAME', 'A publish key must be 1..128 characters.'))
    }
    if (volatile && !this.deps.connected()) {
      return Promise.reject(new SwitchboardClientError('DISCONNECTED', 'Not connected: the volatile publish was dropped.'))
    }
    if (this.entries.length >= this.deps.limit) {
      return Promise.reject(new SwitchboardClientError('QUEUE_FULL', `The publish queue holds ${this.deps.limit} unanswered publishes.`))
    }
    let size: number
    try {
      size = this.deps.frameSize({ type: 'publish', id: Number.MAX_SAFE_INTEGER, channel, data, key })
    } catch (cause) {
      return Promise.reject(new SwitchboardClientError('BAD_FRAME', 'The data cannot be encoded.', { cause }))
    }
    if (size > this.deps.maxPayloadBytes) {
      return Promise.reject(new SwitchboardClientError('TOO_LARGE', `The publish frame is ${size} bytes; the limit is ${this.deps.maxPayloadBytes}.`))
    }
    return new Promise<PublishResult>((resolve, reject) => {
      this.entries.push({ channel, data, key, volatile, size, resolve, reject, failures: 0, inFlight: false, notBefore: 0, settled: false })
      this.pump()
    })
  }

  /** Sends what the window allows (call when a connection becomes ready). */
  pump(): void {
    if (!this.deps.connected()) return
    const now = Date.now()
    if (now < this.pausedUntil) return this.wake(this.pausedUntil - now)
    let earliest = Infinity
    for (const entry of this.entries) {
      if (this.inFlight >= this.deps.window) break
      if (entry.inFlight) continue
      if (entry.notBefore > now) {
        earliest = Math.min(earliest, entry.notBefore)
        continue
      }
      this.send(entry)
    }
    if (earliest !== Infinity) this.wake(earliest - now)
  }

  /**
   * The connection dropped: in-flight publishes go back to waiting, and every volatile one, in
   * flight or still waiting (for room in the window, or a retry), rejects with `DISCONNECTED`:
   * volatile publishes are never carried over to another connection. Their requests reject too;
   * `send` ignores that for entries handled here.
   */
  connectionLost(): void {
    this.cancelTimer()
    for (const entry of [...this.entries]) {
      if (entry.volatile) {
        entry.inFlight = false
        this.settle(entry, new SwitchboardClientError('DISCONNECTED', 'The connection dropped: the volatile publish was dropped.'))
        continue
      }
      entry.inFlight = false
    }
    this.inFlight = 0
  }

  /**
   * The server closed with 1009 (a frame too large): the largest publish in flight is the likely
   * cause; reject it with `TOO_LARGE` so the resend does not loop.
   */
  rejectLargestInFlight(): void {
    let largest: Entry | undefined
    for (const entry of this.entries) if (entry.inFlight && (!largest || entry.size > largest.size)) largest = entry
    if (largest) this.settle(largest, new SwitchboardClientError('TOO_LARGE', 'The server closed the connection: the frame was too large.'))
  }

  /** Rejects every unanswered publish with `error` (client closed) and stops. */
  closeAll(error: SwitchboardClientError): void {
    this.cancelTimer()
    for (const entry of [...this.entries]) this.settle(entry, error)
    this.inFlight = 0
  }

  private send(entry: Entry): void {
    entry.inFlight = true
    this.inFlight += 1
    const frame: RequestFrame = { type: 'publish', channel: entry.channel, data: entry.data, key: entry.key }
    this.deps.request(frame).then(
      reply => {
        if (!entry.inFlight) return
        this.land(entry)
        this.settle(entry, { seq: reply['seq'] as number, mid: reply['mid'] as string })
        this.pump()
      },
      (error: SwitchboardClientError) => {
        // Not in flight any more: the connection dropped (connectionLost put it back) or it was settled.
        if (!entry.inFlight) return
        this.land(entry)
        if (error.code === 'DISCONNECTED') {
          if (entry.volatile) this.settle(entry, error)
        } else if (error.retryable && entry.failures < this.deps.retries) {
          entry.failures += 1
          const delay = backoffDelay(entry.failures - 1, this.deps.backoff)
          entry.notBefore = Date.now() + delay
          if (error.code === 'RATE_LIMITED') this.pausedUntil = Math.max(this.pausedUntil, entry.notBefore)
        } else {
          this.settle(entry, error)
        }
        this.pump()
      },
    )
  }

  private land(entry: Entry): void {
    entry.inFlight = false
    this.inFlight = Math.max(0, this.inFlight - 1)
  }

  private settle(entry: Entry, outcome: PublishResult | SwitchboardClientError): void {
    if (entry.settled) return
    entry.settled = true
    if (entry.inFlight) this.land(entry)
    const index = this.entries.indexOf(entry)
    if (index >= 0) this.entries.splice(index, 1)
    if (outcome instanceof SwitchboardClientError) entry.reject(outcome)
    else entry.resolve(outcome)
  }

  private wake(delayMs: number): void {
    this.cancelTimer()
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.pump()
    }, Math.max(0, delayMs))
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }
}
