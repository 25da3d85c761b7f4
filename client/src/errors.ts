/**
 * Error codes a server sends in `error` frames (PROTOCOL.md, "Error codes"), plus the SDK's own:
 * - `CONFIG_INVALID`: `createClient` was given a bad option (thrown at once).
 * - `QUEUE_FULL`: the publish queue holds `publishQueueLimit` unanswered publishes.
 * - `DISCONNECTED`: a `volatile` publish while not connected, or one whose connection dropped.
 * - `CLOSED`: the client was closed (`close()`); pending work is rejected with it.
 * - `TOO_LARGE`: the encoded frame passes `maxPayloadBytes`, or the server closed with 1009 for it.
 * - `REQUEST_TIMEOUT`: `history()`/`presence()` got no answer within `requestTimeoutMs`.
 * - `TOKEN_UNAVAILABLE`: `getToken()` threw or gave no usable token.
 */
export type ClientErrorCode =
  | 'BAD_FRAME'
  | 'UNAUTHORIZED'
  | 'TOKEN_EXPIRED'
  | 'FORBIDDEN'
  | 'UNKNOWN_CHANNEL'
  | 'VALIDATION'
  | 'NOT_SUBSCRIBED'
  | 'RATE_LIMITED'
  | 'OVERLOADED'
  | 'TIMEOUT'
  | 'TOO_MANY_SUBSCRIPTIONS'
  | 'TOO_MANY_CONNECTIONS'
  | 'INTERNAL'
  | 'CONFIG_INVALID'
  | 'QUEUE_FULL'
  | 'DISCONNECTED'
  | 'CLOSED'
  | 'TOO_LARGE'
  | 'REQUEST_TIMEOUT'
  | 'TOKEN_UNAVAILABLE'

/** One entry of an error's `details`, e.g. one schema issue (`{ path: 'text', message: '...' }`). */
export interface ErrorDetail {
  readonly path: string
  readonly message: string
}

/** Server codes after which the same request may succeed later: publishes are retried on them. */
const RETRYABLE: ReadonlySet<string> = new Set(['INTERNAL', 'TIMEOUT', 'OVERLOADED', 'RATE_LIMITED'])

/**
 * Every error the SDK rejects with or emits. Branch on `code`, never on `message`. Errors
 * from the server carry the frame's `code`, `message` and `details`.
 */
export class SwitchboardClientError extends Error {
  override readonly name = 'SwitchboardClientError'
  /** The error code (see {@link ClientErrorCode}; an unknown server code is passed on as is). */
  readonly code: ClientErrorCode
  /** Per-field details from the server (e.g. `VALIDATION` issues). */
  readonly details: readonly ErrorDetail[] | undefined

  constructor(code: ClientErrorCode, message: string, options: { details?: readonly ErrorDetail[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.details = options.details
  }

  /** Whether a retry of the same request may succeed (`INTERNAL`, `TIMEOUT`, `OVERLOADED`, `RATE_LIMITED`). */
  get retryable(): boolean {
    return RETRYABLE.has(this.code)
  }
}

/** Builds the error for a server `error` frame. */
export function errorFromFrame(frame: { readonly [field: string]: unknown }): SwitchboardClientError {
  const code = (typeof frame['code'] === 'string' ? frame['code'] : 'INTERNAL') as ClientErrorCode
  const message = typeof frame['message'] === 'string' ? frame['message'] : code
  const details = Array.isArray(frame['details']) ? (frame['details'] as ErrorDetail[]) : undefined
  return new SwitchboardClientError(code, message, details ? { details } : {})
}
