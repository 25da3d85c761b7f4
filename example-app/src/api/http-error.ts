import { ERROR_CODES, SwitchboardError, type ErrorCode, type ErrorDetail } from '@switchboard/core'

/** HTTP status of each registry code, for errors that do not carry one of their own. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_FRAME: 400,
  VALIDATION: 400,
  UNAUTHORIZED: 401,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  UNKNOWN_CHANNEL: 404,
  NOT_SUBSCRIBED: 409,
  RATE_LIMITED: 429,
  OVERLOADED: 503,
  CLOSED: 503,
  TIMEOUT: 504,
  INTERNAL: 500,
}

/** A {@link SwitchboardError} with the HTTP status to answer it with (e.g. 413 for `BAD_FRAME` "body too large"). */
export class HttpError extends SwitchboardError {
  /** The response status. */
  readonly status: number
  /** Extra response headers (`WWW-Authenticate`, `Allow`). */
  readonly headers: Record<string, string>

  constructor(status: number, code: ErrorCode, message?: string, options: { details?: readonly ErrorDetail[]; headers?: Record<string, string> } = {}) {
    super(code, message, options.details === undefined ? {} : { details: options.details })
    this.status = status
    this.headers = options.headers ?? {}
  }
}

/** The JSON body of an error response: `{ error: { code, message, details? } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: readonly ErrorDetail[] }
}

/**
 * What to answer for `error`: a {@link SwitchboardError} with a wire code (or an {@link HttpError})
 * keeps its code, message and details; anything else is `500 INTERNAL` with the registry's
 * generic message, so no stack trace or internal detail ever reaches a client.
 */
export function errorResponse(error: unknown): { status: number; headers: Record<string, string>; body: ErrorBody; internal: boolean } {
  if (error instanceof SwitchboardError && (ERROR_CODES[error.code].wire || error instanceof HttpError)) {
    const status = error instanceof HttpError ? error.status : STATUS[error.code] ?? 400
    const body: ErrorBody = { error: { code: error.code, message: error.message } }
    if (error.details !== undefined) body.error.details = error.details
    return { status, headers: error instanceof HttpError ? error.headers : {}, body, internal: status >= 500 }
  }
  if (error instanceof SwitchboardError && error.code === 'CLOSED') {
    return { status: 503, headers: {}, body: { error: { code: 'OVERLOADED', message: 'The server is shutting down; try another node.' } }, internal: false }
  }
  return { status: 500, headers: {}, body: { error: { code: 'INTERNAL', message: ERROR_CODES.INTERNAL.message } }, internal: true }
}
