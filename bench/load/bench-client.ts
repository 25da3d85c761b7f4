import { WebSocket } from 'ws'
import type { WireProtocol } from './protocols.js'

/** Where a {@link BenchClient} reports what it receives. */
export interface ClientSink {
  /** A broadcast delivery (the raw frame, not decoded). */
  delivery(frame: Buffer): void
  /** A publish acknowledgement. */
  ack(id: number): void
  /** A refused publish. */
  refused(id: number): void
  /** The connection closed (after it was open). */
  closed(code: number): void
}

/**
 * One load-generator connection: a raw `ws` client speaking `protocol`. Every target goes
 * through this class, so each pays the same client cost: received frames are classified by
 * their first bytes (protocols.ts) and deliveries are handed over undecoded.
 */
export class BenchClient {
  /** While set, sees every non-delivery frame first (handshake and joins); returns true to consume it. */
  private waiter: ((frame: Buffer) => boolean) | undefined

  private constructor(
    readonly ws: WebSocket,
    readonly protocol: WireProtocol,
    private readonly sink: ClientSink,
  ) {
    ws.on('message', (frame: Buffer) => this.receive(frame))
  }

  /**
   * Opens a connection to `url` and completes the target's handshake (Switchboard `connect`
   * with `token`, Socket.IO namespace connect with `{ token }`). Rejects after `timeoutMs`.
   */
  static open(url: string, protocol: WireProtocol, sink: ClientSink, token: string, timeoutMs = 30_000): Promise<BenchClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        perMessageDeflate: false,
        skipUTF8Validation: true,
        handshakeTimeout: timeoutMs,
        maxPayload: 64 * 1024 * 1024,
      })
      const client = new BenchClient(ws, protocol, sink)
      let settled = false
      const timer = setTimeout(() => fail(new Error('handshake timed out')), timeoutMs)
      const fail = (error: Error): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        ws.terminate()
        reject(error)
      }
      const done = (): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        client.waiter = undefined
        resolve(client)
      }
      ws.on('error', fail)
      ws.on('close', code => {
        if (settled) sink.closed(code)
        else fail(new Error(`closed during the handshake (${code})`))
      })
      client.waiter = frame => {
        if (protocol.handshakeDone(frame)) done()
        return true
      }
      ws.on('open', () => {
        const hello = protocol.hello(token)
        if (hello !== undefined) ws.send(hello)
        if (protocol.immediate) done()
      })
    })
  }

  /** Joins (subscribes to) every room of `rooms`, resolving when each was confirmed. */
  join(rooms: readonly string[], firstId: number, timeoutMs = 30_000): Promise<void> {
    if (rooms.length === 0) return Promise.resolve()
    return new Promise((resolve, reject) => {
      let left = rooms.length
      const timer = setTimeout(() => {
        this.waiter = undefined
        reject(new Error('join timed out'))
      }, timeoutMs)
      this.waiter = frame => {
        if (!this.protocol.isJoinReply(frame)) return false
        if (--left === 0) {
          clearTimeout(timer)
          this.waiter = undefined
          resolve()
        }
        return true
      }
      rooms.forEach((room, i) => this.ws.send(this.protocol.join(room, firstId + i)))
    })
  }

  /** Sees every non-delivery frame until `until` returns true for one (consumed); resolves with that frame. */
  expect(until: (frame: Buffer) => boolean, timeoutMs = 30_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined
        reject(new Error('expected frame did not arrive'))
      }, timeoutMs)
      this.waiter = frame => {
        if (!until(frame)) return false
        clearTimeout(timer)
        this.waiter = undefined
        resolve(frame)
        return true
      }
    })
  }

  /** Sends one text frame. */
  send(text: string): void {
    this.ws.send(text)
  }

  /** Closes without waiting for the close handshake. */
  terminate(): void {
    this.ws.terminate()
  }

  private receive(frame: Buffer): void {
    const protocol = this.protocol
    if (protocol.isDelivery(frame)) return this.sink.delivery(frame)
    const answer = protocol.reply(frame)
    if (answer !== undefined) return this.ws.send(answer)
    if (this.waiter?.(frame)) return
    const ack = protocol.ackId(frame)
    if (ack >= 0) return this.sink.ack(ack)
    const refused = protocol.errorId(frame)
    if (refused >= 0) this.sink.refused(refused)
  }
}
