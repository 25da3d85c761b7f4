import { CLOSE_CODES, type CloseCode } from './protocol/close-codes.js'

/** What the registry knows about one error code. */
export interface ErrorCodeInfo {
  /** Whether the code is sent to clients in `error` frames (PROTOCOL.md) or only used in-process. */
  readonly wire: boolean
  /** Whether retrying the same request later may succeed. */
  readonly retryable: boolean
  /** The close code used when this error ends a connection, if it ever does. */
  readonly closeCode?: CloseCode
  /** A safe, human-readable default message (no internals). */
  readonly message: string
}

/**
 * The one registry of Switchboard error codes. Wire codes are PROTOCOL.md's; the others are
 * raised at start-up or inside the process and never reach a client as such.
 */
export const ERROR_CODES = {
  BAD_FRAME: { wire: true, retryable: false, message: 'The frame could not be understood.' },
  UNAUTHORIZED: {
    wire: true,
    retryable: false,
    closeCode: CLOSE_CODES.UNAUTHORIZED,
    message: 'Not authorized.',
  },
  TOKEN_EXPIRED: {
    wire: true,
    retryable: true,
    closeCode: CLOSE_CODES.UNAUTHORIZED,
    message: 'The token has expired; send `refresh` with a new token.',
  },
  FORBIDDEN: { wire: true, retryable: false, message: 'Not allowed on this channel.' },
  UNKNOWN_CHANNEL: { wire: true, retryable: false, message: 'No channel definition matches this name.' },
  VALIDATION: { wire: true, retryable: false, message: 'The data failed the channel schema.' },
  NOT_SUBSCRIBED: { wire: true, retryable: false, message: 'Not subscribed to this channel.' },
  RATE_LIMITED: {
    wire: true,
    retryable: true,
    closeCode: CLOSE_CODES.RATE_LIMITED,
    message: 'Too many requests; slow down.',
  },
  OVERLOADED: { wire: true, retryable: true, message: 'The server is busy; try again later.' },
  TIMEOUT: { wire: true, retryable: true, message: 'The request ran past its deadline.' },
  TOO_MANY_SUBSCRIPTIONS: {
    wire: true,
    retryable: false,
    message: 'This connection has too many subscriptions.',
  },
  TOO_MANY_CONNECTIONS: {
    wire: true,
    retryable: true,
    closeCode: CLOSE_CODES.FORBIDDEN,
    message: 'This user has too many connections.',
  },
  INTERNAL: {
    wire: true,
    retryable: true,
    closeCode: CLOSE_CODES.INTERNAL_ERROR,
    message: 'Internal server error.',
  },
  /** A configuration value is invalid; raised at start-up only. */
  CONFIG_INVALID: { wire: false, retryable: false, message: 'Invalid configuration.' },
  /** The server (or an engine) is closed or closing. */
  CLOSED: { wire: false, retryable: true, message: 'The server is closed.' },
} as const satisfies Record<string, ErrorCodeInfo>

/** Any code of the registry. */
export type ErrorCode = keyof typeof ERROR_CODES

/** Codes that may be sent to clients in an `error` frame. */
export type WireErrorCode = {
  [K in ErrorCode]: (typeof ERROR_CODES)[K]['wire'] extends true ? K : never
}[ErrorCode]

/** One entry of `details`, e.g. one schema issue. */
export interface ErrorDetail {
  /** Dotted path of the offending field (`text`, `since.seq`), empty for the whole value. */
  readonly path: string
  /** What is wrong with it, for people. */
  readonly message: string
}

/** Options of {@link SwitchboardError}. */
export interface SwitchboardErrorOptions {
  /** Per-field details (validation issues). */
  details?: readonly ErrorDetail[]
  /** The error this one wraps. */
  cause?: unknown
}

/**
 * The error type every part of Switchboard throws. It always carries a registry `code`;
 * `message` is safe to show to clients for wire codes (no stack traces, no internals).
 */
export class SwitchboardError extends Error {
  /** The registry code. */
  readonly code: ErrorCode
  /** Per-field details, when the code has them (VALIDATION, BAD_FRAME). */
  readonly details: readonly ErrorDetail[] | undefined

  constructor(code: ErrorCode, message: string = ERROR_CODES[code].message, options: SwitchboardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'SwitchboardError'
    this.code = code
    this.details = options.details
  }

  /** Whether retrying later may succeed (from the registry). */
  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable
  }
}

/** True when `value` is a {@link SwitchboardError}, optionally of the given code. */
export function isSwitchboardError(value: unknown, code?: ErrorCode): value is SwitchboardError {
  return value instanceof SwitchboardError && (code === undefined || value.code === code)
}

/**
 * Turns anything thrown into the error a client may see: a SwitchboardError with a wire code
 * keeps its code and message; everything else becomes `INTERNAL` with the registry's generic
 * message, so no internals or stack traces leak.
 */
export function toWireError(error: unknown): { code: WireErrorCode; message: string; details?: readonly ErrorDetail[] } {
  if (error instanceof SwitchboardError && ERROR_CODES[error.code].wire) {
    const wire = { code: error.code as WireErrorCode, message: error.message }
    return error.details === undefined ? wire : { ...wire, details: error.details }
  }
  return { code: 'INTERNAL', message: ERROR_CODES.INTERNAL.message }
}
