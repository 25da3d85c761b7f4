import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Codec } from '../protocol/codec.js'
import { selectCodec } from '../protocol/subprotocols.js'
import { KeyedTokenBuckets } from './token-bucket.js'

/** The outcome of checking one upgrade request. */
export type UpgradeDecision =
  | { readonly accept: true; readonly codec: Codec }
  | { readonly accept: false; readonly status: number; readonly message: string; readonly headers?: Record<string, string> }

/** What the guard needs to know about the node at the moment of the request. */
export interface UpgradeGuardOptions {
  /** Proxies trusted to append to `X-Forwarded-For` (see {@link clientIp}); 0 ignores the header. Default 0. */
  trustProxy?: number
  /** Allowed origins, or `'*'`. */
  allowedOrigins: '*' | string[]
  /** Open connections (and accepted handshakes) at which new ones get 503. */
  maxConnections: number
  /** Handshakes per second per IP; 0 disables. */
  handshakeRatePerSecond: number
  /** Handshake burst per IP. */
  handshakeBurst: number
  /** `Retry-After` seconds for 503 answers. */
  retryAfterSec: number
}

/**
 * Decides, before any WebSocket is allocated, whether an upgrade request may proceed. Checks,
 * in order: draining (503), per-IP handshake rate (429, counted for every attempt so refused
 * ones cost the client too), `Origin` allow-list (403; a request without `Origin` is a
 * non-browser client and is allowed), capacity (503 with `Retry-After`), subprotocol (400 when
 * the client offers only protocols we do not speak).
 */
export class UpgradeGuard {
  private readonly origins: Set<string> | undefined
  private readonly rates: KeyedTokenBuckets | undefined

  constructor(private readonly options: UpgradeGuardOptions) {
    this.origins = options.allowedOrigins === '*' ? undefined : new Set(options.allowedOrigins.map(normalizeOrigin))
    this.rates =
      options.handshakeRatePerSecond > 0
        ? new KeyedTokenBuckets({ ratePerSecond: options.handshakeRatePerSecond, burst: options.handshakeBurst })
        : undefined
  }

  /** Checks `request`; `connections` is the node's current count, `draining` whether it is shutting down. */
  check(request: IncomingMessage, connections: number, draining: boolean): UpgradeDecision {
    const retryAfter = { 'Retry-After': String(this.options.retryAfterSec) }
    if (draining) return { accept: false, status: 503, message: 'Server is shutting down', headers: retryAfter }
    if (this.rates && !this.rates.take(clientIp(request, this.options.trustProxy ?? 0))) {
      return { accept: false, status: 429, message: 'Too many handshakes', headers: { 'Retry-After': '1' } }
    }
    const origin = request.headers.origin
    if (this.origins && origin !== undefined && !this.origins.has(normalizeOrigin(origin))) {
      return { accept: false, status: 403, message: 'Origin not allowed' }
    }
    if (connections >= this.options.maxConnections) {
      return { accept: false, status: 503, message: 'Server at capacity', headers: retryAfter }
    }
    const codec = selectCodec(offeredProtocols(request))
    if (!codec) return { accept: false, status: 400, message: 'Unsupported subprotocol' }
    return { accept: true, codec }
  }
}

/**
 * The client's IP address: the socket's remote address, or, behind `trustProxy` proxies (load
 * balancers that append the address they saw to `X-Forwarded-For`), the entry that many places
 * from the end of that header. With 0 (the default) the header is ignored, since any client can
 * send one.
 */
export function clientIp(request: IncomingMessage, trustProxy = 0): string {
  const socketAddress = request.socket.remoteAddress ?? 'unknown'
  if (trustProxy === 0) return socketAddress
  const header = request.headers['x-forwarded-for']
  const entries = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map(entry => entry.trim())
    .filter(entry => entry !== '')
  return entries[entries.length - trustProxy] ?? entries[0] ?? socketAddress
}

/** Writes a plain HTTP error response on an upgrade socket and destroys it. */
export function refuseUpgrade(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = `${message}\n`
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ]
  socket.on('error', () => socket.destroy())
  if (!socket.writable) {
    socket.destroy()
    return
  }
  socket.once('finish', () => socket.destroy())
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`)
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
}

function offeredProtocols(request: IncomingMessage): string[] {
  const header = request.headers['sec-websocket-protocol']
  if (!header) return []
  return header
    .split(',')
    .map(p => p.trim())
    .filter(p => p.length > 0)
}

/** Origins compare by scheme, host and port, case-insensitively, without a trailing slash. */
function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin.toLowerCase()
  } catch {
    return origin.trim().toLowerCase()
  }
}
