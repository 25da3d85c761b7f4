/**
 * WebSocket close codes used by Switchboard (PROTOCOL.md, "Close codes").
 * 1xxx codes are RFC 6455's; 4xxx codes are Switchboard's own.
 */
export const CLOSE_CODES = {
  /** Normal close. */
  NORMAL: 1000,
  /** The server is shutting down or draining: reconnect (to another node) and resume. */
  GOING_AWAY: 1001,
  /** A frame larger than `maxPayloadBytes`. */
  MESSAGE_TOO_BIG: 1009,
  /** Unexpected server error. */
  INTERNAL_ERROR: 1011,
  /** Unauthorized, or token expired and not refreshed. */
  UNAUTHORIZED: 4001,
  /**
   * Refused by policy: the user holds too many connections (`maxConnectionsPerUser`), or the
   * application disconnected the user (`disconnectUser`: logout, ban). Do not reconnect with
   * the same token.
   */
  FORBIDDEN: 4003,
  /** Missed heartbeats: no frame and no pong from the client for two intervals. */
  HEARTBEAT_TIMEOUT: 4002,
  /** Slow consumer: the outgoing buffer passed `maxBufferedBytes`; resume with `since`. */
  SLOW_CONSUMER: 4008,
  /** No `connect` frame within `authTimeoutMs`. */
  AUTH_TIMEOUT: 4009,
  /** Rate limit exceeded persistently. */
  RATE_LIMITED: 4029,
} as const

/** One of the close codes above. */
export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES]
