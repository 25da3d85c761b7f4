import { WebSocket, type ClientOptions } from 'ws'
import type { IncomingMessage } from 'node:http'
import { decode as msgpackDecode, encode as msgpackEncode } from '@msgpack/msgpack'

/** A frame as the test client sees it: any object with a string `type`. */
export type AnyFrame = { type: string; id?: number; [key: string]: unknown }

/** Options of {@link TestClient.open}. */
export interface TestClientOptions {
  /** Wire format. Default `json`. */
  protocol?: 'json' | 'msgpack' | 'none'
  /** Subprotocols to offer instead of the one for `protocol` (for negotiation tests). */
  offer?: string[]
  /** `Origin` header. Default none (a non-browser client). */
  origin?: string
  /** How long `next`/`request`/`closed` wait before failing (ms). Default 10000. */
  timeoutMs?: number
  /** Extra `ws` client options (e.g. `autoPong: false`, `perMessageDeflate`). */
  ws?: ClientOptions
}

/** The end of a connection as the client saw it. */
export interface CloseEvent {
  code: number
  reason: string
}

/**
 * A protocol-level test client over a real `ws` socket, used by core tests and generated
 * channel tests. It records every frame received and lets tests wait for frames by predicate,
 * never by sleeping.
 */
export class TestClient {
  /** Every frame received, in order. */
  readonly frames: AnyFrame[] = []
  /** Resolves when the socket closes. */
  readonly closed: Promise<CloseEvent>
  private nextId = 1
  private waiters: { match: (f: AnyFrame) => boolean; resolve: (f: AnyFrame) => void; from: number }[] = []
  private readonly binary: boolean

  private constructor(
    readonly socket: WebSocket,
    private readonly timeoutMs: number,
  ) {
    this.binary = socket.protocol === 'switchboard.v1.msgpack'
    this.closed = new Promise(resolve => {
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
    })
    socket.on('error', () => {})
    socket.on('message', (data, isBinary) => {
      const frame = (isBinary ? msgpackDecode(data as Buffer) : JSON.parse(data.toString())) as AnyFrame
      this.frames.push(frame)
      this.waiters = this.waiters.filter(w => {
        if (!w.match(frame)) return true
        w.resolve(frame)
        return false
      })
    })
  }

  /**
   * Opens a connection to `url` (e.g. `ws://127.0.0.1:1234/ws`).
   * @throws Error with `status` (the HTTP status) when the server refuses the upgrade.
   */
  static open(url: string, options: TestClientOptions = {}): Promise<TestClient> {
    const protocol = options.protocol ?? 'json'
    const offer = options.offer ?? (protocol === 'none' ? [] : [`switchboard.v1.${protocol}`])
    const socket = new WebSocket(url, offer, {
      ...(options.origin ? { origin: options.origin } : {}),
      ...options.ws,
    })
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new TestClient(socket, options.timeoutMs ?? 10_000)))
      socket.once('unexpected-response', (_req, res: IncomingMessage) => {
        res.resume()
        reject(Object.assign(new Error(`upgrade refused with ${res.statusCode}`), { status: res.statusCode, headers: res.headers }))
        socket.terminate()
      })
      socket.once('error', reject)
    })
  }

  /** Opens a connection and authenticates with `token`; resolves with the `connected` frame. */
  static async connect(url: string, token: string, options: TestClientOptions = {}): Promise<{ client: TestClient; connected: AnyFrame }> {
    const client = await TestClient.open(url, options)
    const connected = await client.request({ type: 'connect', token })
    if (connected.type !== 'connected') throw new Error(`connect failed: ${JSON.stringify(connected)}`)
    return { client, connected }
  }

  /** Sends a frame object in the negotiated format. */
  send(frame: object): void {
    this.socket.send(this.binary ? msgpackEncode(frame) : JSON.stringify(frame), { binary: this.binary })
  }

  /** Sends raw bytes or text as is. */
  sendRaw(data: string | Buffer | Uint8Array, binary = typeof data !== 'string'): void {
    this.socket.send(data, { binary })
  }

  /** Sends `frame` with a fresh `id` (unless it has one) and resolves with the reply of that id. */
  request(frame: Record<string, unknown>): Promise<AnyFrame> {
    const id = typeof frame.id === 'number' ? frame.id : this.nextId++
    const reply = this.next(f => f.id === id, `reply to ${String(frame.type)} #${id}`)
    this.send({ ...frame, id })
    return reply
  }

  /**
   * Resolves with the first frame matching `match` (a type name or predicate) received after
   * this call, or already received when `includePast` is true.
   */
  next(match: string | ((frame: AnyFrame) => boolean), what = String(match), includePast = false): Promise<AnyFrame> {
    const predicate = typeof match === 'string' ? (f: AnyFrame) => f.type === match : match
    if (includePast) {
      const seen = this.frames.find(predicate)
      if (seen) return Promise.resolve(seen)
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter(w => w !== waiter)
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames.slice(-5))}`))
      }, this.timeoutMs)
      const waiter = {
        match: predicate,
        from: this.frames.length,
        resolve: (f: AnyFrame) => {
          clearTimeout(timer)
          resolve(f)
        },
      }
      this.waiters.push(waiter)
    })
  }

  /** Resolves with the close event, failing after the client's timeout. */
  async waitClosed(): Promise<CloseEvent> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out waiting for close')), this.timeoutMs)
    })
    try {
      return await Promise.race([this.closed, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Closes normally (1000) and waits for the close to finish. */
  async close(code = 1000): Promise<CloseEvent> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(code)
    return this.waitClosed()
  }

  /** Drops the TCP connection without a close frame. */
  terminate(): void {
    this.socket.terminate()
  }
}
