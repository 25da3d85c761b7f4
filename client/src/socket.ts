import type { ClientCodec } from './codec.js'
import type { ClientFrame, ServerFrame } from './frames.js'

/** The part of the WHATWG `WebSocket` interface the client uses (browsers' and `ws`'s both have it). */
export interface WebSocketLike {
  readonly readyState: number
  binaryType: string
  onopen: ((event: unknown) => void) | null
  onclose: ((event: { code: number; reason: string }) => void) | null
  onerror: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  send(data: string | Uint8Array): void
  close(code?: number, reason?: string): void
  /** `ws` only: drop the connection without a close handshake. */
  terminate?(): void
}

const CLOSED = 3

/** The size in bytes of an encoded frame (UTF-8 length for text). */
export function frameSize(encoded: string | Uint8Array): number {
  if (typeof encoded !== 'string') return encoded.byteLength
  let bytes = encoded.length
  for (let i = 0; i < encoded.length; i++) {
    const code = encoded.charCodeAt(i)
    if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 2
      i++
    } else if (code >= 0x800) bytes += 2
    else if (code >= 0x80) bytes += 1
  }
  return bytes
}

/**
 * Drops a dead socket at once, without waiting for a close handshake that will not come:
 * `terminate()` where there is one (`ws`), else `close(4000)` (browsers drop it in the background).
 */
export function killSocket(socket: WebSocketLike): void {
  socket.onopen = socket.onmessage = socket.onclose = null
  socket.onerror = () => {}
  try {
    if (typeof socket.terminate === 'function') socket.terminate()
    else socket.close(4000, 'dead connection')
  } catch {
    // Already closed.
  }
}

/** Closes a socket with 1000; resolves when it closed, or after `timeoutMs` (then terminates it where possible). */
export function closeSocket(socket: WebSocketLike, timeoutMs = 1000): Promise<void> {
  socket.onopen = socket.onmessage = null
  socket.onerror = () => {}
  if (socket.readyState === CLOSED) return Promise.resolve()
  return new Promise(resolve => {
    const timer = setTimeout(() => {
      killSocket(socket)
      resolve()
    }, timeoutMs)
    socket.onclose = () => {
      clearTimeout(timer)
      resolve()
    }
    try {
      socket.close(1000, 'client closed')
    } catch {
      killSocket(socket)
      clearTimeout(timer)
      resolve()
    }
  })
}

/**
 * Acks have no reply, and a server drops the frames still queued when a socket closes. An
 * `unsubscribe` sent after the last acks is handled after them (frames of a connection are
 * handled in order) and answered, so waiting for the answers to `frames` (at most `timeoutMs`)
 * makes sure the acks landed before the socket is closed.
 */
export function ackBarrier(socket: WebSocketLike, codec: ClientCodec, frames: (ClientFrame & { id: number })[], timeoutMs = 1000): Promise<void> {
  const ids = new Set(frames.map(frame => frame.id))
  return new Promise<void>(resolve => {
    const done = (): void => {
      clearTimeout(timer)
      resolve()
    }
    const timer = setTimeout(done, timeoutMs)
    socket.onclose = done
    socket.onmessage = event => {
      try {
        const frame = codec.decode(event.data as string | ArrayBuffer) as ServerFrame
        if (typeof frame.id === 'number' && ids.delete(frame.id) && ids.size === 0) done()
      } catch {
        // The client is closed: nothing to report to any more.
      }
    }
    try {
      for (const frame of frames) socket.send(codec.encode(frame))
    } catch {
      done()
    }
  })
}
