import { hostname } from 'node:os'
import { z } from 'zod'
import { SwitchboardError } from './errors.js'

/** JWT verification settings (PROTOCOL.md, "Tokens"). Give `secret` (HS256) or `jwksUrl` (RS256/ES256). */
export interface JwtOptions {
  /** Shared HS256 secret. */
  secret?: string
  /** JWKS URL for RS256/ES256 keys. */
  jwksUrl?: string
  /** Required `aud` claim, when set. */
  audience?: string
  /** Required `iss` claim, when set. */
  issuer?: string
  /** Allowed clock skew in seconds for `exp`/`nbf`. Default 5. */
  clockToleranceSec?: number
}

/**
 * Every tunable of a Switchboard server, with its default. Durations are in milliseconds,
 * sizes in bytes. Engines, channels, hooks and the logger are given to `createSwitchboard`
 * beside these (see `SwitchboardConfig`); this object holds plain values only, so it can be
 * loaded from the environment (`loadOptionsFromEnv`).
 */
export interface SwitchboardOptions {
  /** URL path of the WebSocket endpoint. Default `/ws`. */
  path: string
  /** This node's id, shown in `connected.node`. Default `<hostname>-<pid>`. */
  nodeId: string
  /** Server ping interval and the interval clients are told to `ping` at. Default 25000. */
  heartbeatMs: number
  /** Time from upgrade to a `connect` frame before close 4009. Default 5000. */
  authTimeoutMs: number
  /** After `TOKEN_EXPIRED`, time to send `refresh` before close 4001. Default 5000. */
  tokenGraceMs: number
  /** Largest frame accepted; larger ones close with 1009. Default 65536. */
  maxPayloadBytes: number
  /** Connections per node; more get HTTP 503 before the upgrade. Default 100000. */
  maxConnections: number
  /**
   * Connections one user may hold across all nodes (counted in the presence engine); the next
   * `connect` gets `TOO_MANY_CONNECTIONS` and close 4003. 0 = no limit. Default 0.
   */
  maxConnectionsPerUser: number
  /** How often the node reports itself (id, start time, connections) to the node registry. Default 10000. */
  nodeReportMs: number
  /** Allowed `Origin` values, or `'*'` for any (a warning is logged). Requests without `Origin` are allowed. Default `'*'`. */
  allowedOrigins: '*' | string[]
  /** Publishes per second per connection (token bucket refill). Default 50. */
  publishRatePerSecond: number
  /** Publish burst per connection (token bucket size). Default 100 (twice the rate). */
  publishBurst: number
  /** Rate-limited publishes within `rateLimitWindowMs` that close the connection with 4029. Default 100. */
  rateLimitCloseAfter: number
  /** Window for counting rate-limited publishes. Default 10000. */
  rateLimitWindowMs: number
  /**
   * Proxies in front of the node that append to `X-Forwarded-For` (e.g. 1 behind nginx): the
   * client IP for the handshake limit and `session.ip` is read that many entries from the end of
   * the header. 0 ignores the header (any client could forge it). Default 0.
   */
  trustProxy: number
  /** WebSocket handshakes per second per client IP; 0 disables the limit. Default 100. */
  handshakeRatePerSecond: number
  /** Handshake burst per client IP. Default 200. */
  handshakeBurst: number
  /** Outgoing bytes buffered for one connection before it is closed with 4008. Default 1048576 (1 MiB). */
  maxBufferedBytes: number
  /** Channels one connection may be subscribed to at once. Default 128. */
  maxSubscriptionsPerConnection: number
  /**
   * Handler calls running at once on this node. Default 1024. A persisted publish holds its slot
   * until its batch commits, so this bounds persisted throughput to about `dispatchConcurrency`
   * ÷ commit latency (1024 ÷ 40 ms ≈ 25,000/s).
   */
  dispatchConcurrency: number
  /** Handler calls waiting for a slot before new ones get `OVERLOADED`. Default 10000. */
  dispatchQueueCap: number
  /** Deadline of one handler call (queue wait included) before `TIMEOUT`. Default 5000. */
  handlerDeadlineMs: number
  /** Time a closing connection gets to finish the close handshake before it is terminated. Default 1000. */
  closeTimeoutMs: number
  /** First redelivery check of an at-least-once message, after delivery. Default 10000. */
  ackTimeoutMs: number
  /** Redeliveries of an unacknowledged message before it is dead-lettered. Default 5. */
  redeliveryAttempts: number
  /** Longest delay between redeliveries (exponential backoff is capped here). Default 300000. */
  redeliveryMaxDelayMs: number
  /** How often pending redeliveries of online recipients are rebuilt from the store. Default 60000. */
  redeliveryRebuildMs: number
  /**
   * How often the history retention of channel definitions (`history`) is enforced, by the
   * default (memory) retention scheduler; a `BullmqRetentionScheduler` is given its own
   * `intervalMs`. Default 60000.
   */
  retentionIntervalMs: number
  /** Graceful shutdown budget: after it, remaining work is abandoned. Default 10000. */
  shutdownMs: number
  /** `Retry-After` seconds sent with HTTP 503 when the node is full or draining. Default 5. */
  retryAfterSec: number
  /** Enable permessage-deflate (compression). Default false. */
  perMessageDeflate: boolean
  /** JWT verification. Default: no secret, which `createSwitchboard` refuses with `CONFIG_INVALID` unless `authenticate` is given. */
  jwt: JwtOptions
}

/** Options as callers give them: every field optional, `jwt` partial. */
export type SwitchboardOptionsInput = Partial<SwitchboardOptions>

/** The defaults of every option, as documented on {@link SwitchboardOptions}. */
export const DEFAULT_OPTIONS: Readonly<SwitchboardOptions> = Object.freeze({
  path: '/ws',
  nodeId: `${hostname()}-${process.pid}`,
  heartbeatMs: 25_000,
  authTimeoutMs: 5_000,
  tokenGraceMs: 5_000,
  maxPayloadBytes: 65_536,
  maxConnections: 100_000,
  maxConnectionsPerUser: 0,
  nodeReportMs: 10_000,
  allowedOrigins: '*',
  publishRatePerSecond: 50,
  publishBurst: 100,
  rateLimitCloseAfter: 100,
  rateLimitWindowMs: 10_000,
  trustProxy: 0,
  handshakeRatePerSecond: 100,
  handshakeBurst: 200,
  maxBufferedBytes: 1_048_576,
  maxSubscriptionsPerConnection: 128,
  dispatchConcurrency: 1_024,
  dispatchQueueCap: 10_000,
  handlerDeadlineMs: 5_000,
  closeTimeoutMs: 1_000,
  ackTimeoutMs: 10_000,
  redeliveryAttempts: 5,
  redeliveryMaxDelayMs: 300_000,
  redeliveryRebuildMs: 60_000,
  retentionIntervalMs: 60_000,
  shutdownMs: 10_000,
  retryAfterSec: 5,
  perMessageDeflate: false,
  jwt: {},
})

const positiveMs = z.number().int().positive().describe('a positive integer (milliseconds)')
const positiveInt = z.number().int().positive().describe('a positive integer')
const nonNegativeInt = z.number().int().nonnegative().describe('an integer >= 0')

const optionsSchema = z.strictObject({
  path: z.string().startsWith('/').describe('a URL path starting with /'),
  nodeId: z.string().min(1).max(200).describe('a non-empty string'),
  heartbeatMs: positiveMs,
  authTimeoutMs: positiveMs,
  tokenGraceMs: positiveMs,
  maxPayloadBytes: positiveInt,
  maxConnections: positiveInt,
  maxConnectionsPerUser: nonNegativeInt,
  nodeReportMs: positiveMs,
  allowedOrigins: z
    .union([z.literal('*'), z.array(z.string().url())])
    .describe("'*' or a list of origins such as https://app.example.com"),
  publishRatePerSecond: positiveInt,
  publishBurst: positiveInt,
  rateLimitCloseAfter: positiveInt,
  rateLimitWindowMs: positiveMs,
  trustProxy: nonNegativeInt,
  handshakeRatePerSecond: nonNegativeInt,
  handshakeBurst: positiveInt,
  maxBufferedBytes: positiveInt,
  maxSubscriptionsPerConnection: positiveInt,
  dispatchConcurrency: positiveInt,
  dispatchQueueCap: nonNegativeInt,
  handlerDeadlineMs: positiveMs,
  closeTimeoutMs: positiveMs,
  ackTimeoutMs: positiveMs,
  redeliveryAttempts: positiveInt,
  redeliveryMaxDelayMs: positiveMs,
  redeliveryRebuildMs: positiveMs,
  retentionIntervalMs: positiveMs,
  shutdownMs: positiveMs,
  retryAfterSec: positiveInt,
  perMessageDeflate: z.boolean().describe('true or false'),
  jwt: z.strictObject({
    secret: z.string().min(1).optional(),
    jwksUrl: z
      .string()
      .url()
      .refine(u => /^https?:/.test(u))
      .describe('an http(s) URL')
      .optional(),
    audience: z.string().optional(),
    issuer: z.string().optional(),
    clockToleranceSec: nonNegativeInt.optional(),
  }),
})

/**
 * Merges `input` over {@link DEFAULT_OPTIONS} and validates the result.
 * @throws SwitchboardError `CONFIG_INVALID` naming the first bad option, its value and what was expected.
 */
export function resolveOptions(input: SwitchboardOptionsInput = {}): SwitchboardOptions {
  const merged = { ...DEFAULT_OPTIONS, ...stripUndefined(input), jwt: { ...DEFAULT_OPTIONS.jwt, ...input.jwt } }
  const parsed = optionsSchema.safeParse(merged)
  if (parsed.success) return parsed.data as SwitchboardOptions
  const issue = parsed.error.issues[0]!
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length ? `${issue.path.join('.')}.` : ''
    throw new SwitchboardError('CONFIG_INVALID', `unknown option ${where}${issue.keys[0]}`)
  }
  const path = issue.path.join('.')
  const value = issue.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k as string], merged)
  const expected = describeExpected(issue.path) ?? issue.message
  throw new SwitchboardError(
    'CONFIG_INVALID',
    `option ${path || '(root)'}: got ${JSON.stringify(value) ?? String(value)}, expected ${expected}`,
  )
}

function describeExpected(path: PropertyKey[]): string | undefined {
  let schema: z.ZodType = optionsSchema
  for (const key of path) {
    if (typeof key === 'number') return schema.description
    const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape
    if (!shape || typeof key !== 'string' || !shape[key]) return undefined
    schema = shape[key]
    const inner = (schema as unknown as { unwrap?: () => z.ZodType }).unwrap
    if (schema.description === undefined && inner) schema = inner.call(schema)
  }
  return schema.description
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
