import { WebSocket } from 'ws'
import type { WebSocketConstructor } from '../../src/index.js'

/** Every socket a {@link spySockets} constructor opened, and every frame they received, decoded. */
export interface SocketSpy {
  readonly WebSocket: WebSocketConstructor
  readonly sockets: WebSocket[]
  readonly received: { type: string; [key: string]: unknown }[]
  /** Resolves with the next frame received (from now on) that matches `match`. */
  next(match: (frame: { type: string; [key: string]: unknown }) => boolean): Promise<{ type: string; [key: string]: unknown }>
}

/** A `ws` WebSocket constructor that records its sockets and the JSON frames they receive. */
export function spySockets(): SocketSpy {
  const sockets: WebSocket[] = []
  const received: { type: string; [key: string]: unknown }[] = []
  let waiters: { match: (frame: { type: string }) => boolean; resolve(frame: unknown): void }[] = []
  class SpyWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols)
      sockets.push(this)
      this.on('message', (data, isBinary) => {
        if (isBinary) return
        const frame = JSON.parse(data.toString()) as { type: string }
        received.push(frame)
        waiters = waiters.filter(waiter => {
          if (!waiter.match(frame)) return true
          waiter.resolve(frame)
          return false
        })
      })
    }
  }
  return {
    WebSocket: SpyWebSocket as unknown as WebSocketConstructor,
    sockets,
    received,
    next: match => new Promise(resolve => waiters.push({ match: match as never, resolve: resolve as never })),
  }
}
