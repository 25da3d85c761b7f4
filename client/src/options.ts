import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js'
import { jsonCodec, type ClientCodec } from './codec.js'
import { SwitchboardClientError } from './errors.js'

/** Anything `new`-able like the WHATWG `WebSocket`: the browser's, or `WebSocket` from `ws` in Node. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => object

/**
 * Returns the token (a JWT) to connect or refresh with. Called before every connection attempt
 * and before the current token's `exp`. Return `null`/`undefined` when there is none (logged
 * out): the client then stops (`disconnected`). Throwing counts as a transient failure (retried
 * with backoff).
 */
export type GetToken = () => string | null | undefined | Promise<string | null | undefined>

/** How acks of delivered messages are sent (PROTOCOL.md `ack`; they matter on at-least-once channels). */
export type AckMode = 'auto' | 'manual'

/** The options of `createClient`. Durations in ms. */
export interface ClientOptions {
  /** The server's WebSocket URL, e.g. `wss://chat.example.com/ws`; in browsers a path (`/ws`) is resolved against the page. */
  url: string
  /** Supplies tokens; see {@link GetToken}. */
  getToken: GetToken
  /** The WebSocket constructor. Default `globalThis.WebSocket` (browsers, Node 22+); in Node 20 pass `ws`'s, or import `@switchboard/client/node`. */
  WebSocket?: WebSocketConstructor
  /** Wire codec. Default JSON (`switchboard.v1.json`); `msgpackCodec` from `@switchboard/client/msgpack` for MessagePack. */
  codec?: ClientCodec
  /** Reconnect backoff (exponential, full jitter). Defaults `{ minDelayMs: 500, maxDelayMs: 20000, factor: 2 }`. */
  reconnect?: Partial<BackoffOptions>
  /** How often to `ping`. Default: the server's `connected.heartbeatMs`. 0 disables the client heartbeat. */
  heartbeatMs?: number
  /** Time from opening a socket to `connected` before the attempt is abandoned and retried. Default 10000. */
  connectTimeoutMs?: number
  /** How long `history()` and `presence()` wait (for a connection and the reply) before `REQUEST_TIMEOUT`. Default 15000. */
  requestTimeoutMs?: number
  /** Unanswered publishes (queued, waiting to retry, or in flight) the client holds; more reject with `QUEUE_FULL`. Default 1000. */
  publishQueueLimit?: number
  /** Publishes in flight at once (the rest wait their turn, in order). Default 32. */
  publishWindow?: number
  /** Retries of a publish answered `INTERNAL`, `TIMEOUT`, `OVERLOADED` or `RATE_LIMITED` (same key, with backoff). Default 5. */
  publishRetries?: number
  /** Largest frame the server accepts (its `maxPayloadBytes`); a publish whose frame is larger rejects with `TOO_LARGE`. Default 65536. */
  maxPayloadBytes?: number
  /** `auto`: ack each message after its handlers return or resolve (batched, cumulative); `manual`: call `channel.ack(seq)`. Default `auto`. */
  ackMode?: AckMode
  /** How long acks are batched before one cumulative `ack` goes out. Default 100. */
  ackDelayMs?: number
  /** Refresh the token this long before its `exp` (at most a fifth of its remaining life, at least 1 s). Default 30000. */
  tokenRefreshMarginMs?: number
  /** Sent in `connect` as `client`. Default `{ name: '@switchboard/client', version: '0.1.0' }`. */
  clientInfo?: { name?: string; version?: string }
}

/** {@link ClientOptions} with every default applied. */
export interface ResolvedClientOptions {
  readonly url: string
  readonly getToken: GetToken
  readonly WebSocket: WebSocketConstructor
  readonly codec: ClientCodec
  readonly reconnect: BackoffOptions
  readonly heartbeatMs: number | undefined
  readonly connectTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly publishQueueLimit: number
  readonly publishWindow: number
  readonly publishRetries: number
  readonly maxPayloadBytes: number
  readonly ackMode: AckMode
  readonly ackDelayMs: number
  readonly tokenRefreshMarginMs: number
  readonly clientInfo: { name?: string; version?: string }
}

/** The SDK's version, sent in `connect`. */
export const CLIENT_VERSION = '0.1.0'

function invalid(name: string, value: unknown, expected: string): never {
  let shown: string
  try {
    shown = typeof value === 'function' ? 'a function' : JSON.stringify(value) ?? String(value)
  } catch {
    shown = String(value)
  }
  throw new SwitchboardClientError('CONFIG_INVALID', `${name}: expected ${expected}, got ${shown}`)
}

function integer(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) invalid(name, value, `an integer >= ${min}`)
  return value
}

function resolveUrl(url: unknown): string {
  if (typeof url !== 'string' || url === '') invalid('url', url, 'a ws:// or wss:// URL')
  const location = (globalThis as { location?: { protocol: string; host: string } }).location
  if (url.startsWith('/') && location) return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${url}`
  if (!/^wss?:\/\/[^/]/i.test(url)) invalid('url', url, 'a ws:// or wss:// URL (or, in a browser, a path starting with /)')
  return url
}

/**
 * Applies the defaults of {@link ClientOptions} and checks every value.
 * @throws SwitchboardClientError `CONFIG_INVALID` naming the option, the value and what was expected.
 */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) invalid('options', options, 'an object')
  const url = resolveUrl(options.url)
  if (typeof options.getToken !== 'function') invalid('getToken', options.getToken, 'a function returning a token (or a promise of one)')
  const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (typeof WebSocket !== 'function') {
    invalid('WebSocket', options.WebSocket, "a WebSocket constructor (no global WebSocket here: pass `WebSocket` from 'ws', or import '@switchboard/client/node')")
  }
  const codec = options.codec ?? jsonCodec
  if (typeof codec?.encode !== 'function' || typeof codec.decode !== 'function' || typeof codec.subprotocol !== 'string') {
    invalid('codec', codec, 'a codec with subprotocol, encode and decode')
  }
  const minDelayMs = integer('reconnect.minDelayMs', options.reconnect?.minDelayMs, DEFAULT_BACKOFF.minDelayMs, 1)
  const maxDelayMs = integer('reconnect.maxDelayMs', options.reconnect?.maxDelayMs, DEFAULT_BACKOFF.maxDelayMs, minDelayMs)
  const factor = options.reconnect?.factor ?? DEFAULT_BACKOFF.factor
  if (typeof factor !== 'number' || !(factor >= 1) || !Number.isFinite(factor)) invalid('reconnect.factor', factor, 'a number >= 1')
  const ackMode = options.ackMode ?? 'auto'
  if (ackMode !== 'auto' && ackMode !== 'manual') invalid('ackMode', ackMode, "'auto' or 'manual'")
  return {
    url,
    getToken: options.getToken,
    WebSocket,
    codec,
    reconnect: { minDelayMs, maxDelayMs, factor },
    heartbeatMs: options.heartbeatMs === undefined ? undefined : integer('heartbeatMs', options.heartbeatMs, 0, 0),
    connectTimeoutMs: integer('connectTimeoutMs', options.connectTimeoutMs, 10_000, 1),
    requestTimeoutMs: integer('requestTimeoutMs', options.requestTimeoutMs, 15_000, 1),
    publishQueueLimit: integer('publishQueueLimit', options.publishQueueLimit, 1000, 1),
    publishWindow: integer('publishWindow', options.publishWindow, 32, 1),
    publishRetries: integer('publishRetries', options.publishRetries, 5, 0),
    maxPayloadBytes: integer('maxPayloadBytes', options.maxPayloadBytes, 65_536, 1),
    ackMode,
    ackDelayMs: integer('ackDelayMs', options.ackDelayMs, 100, 0),
    tokenRefreshMarginMs: integer('tokenRefreshMarginMs', options.tokenRefreshMarginMs, 30_000, 0),
    clientInfo: { name: '@switchboard/client', version: CLIENT_VERSION, ...options.clientInfo },
  }
}
