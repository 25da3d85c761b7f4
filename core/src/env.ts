import { SwitchboardError } from './errors.js'
import { DEFAULT_OPTIONS, resolveOptions, type SwitchboardOptionsInput } from './options.js'

/** What a variable's parser made of its raw value: option input, or why it is not valid. */
export type EnvParseResult = { ok: true; input: SwitchboardOptionsInput } | { ok: false; problem?: string }

/** One environment variable Switchboard reads, as documented (EXAMPLE-APP.md, docs/operations). */
export interface EnvVariable {
  /** The variable, e.g. `SWITCHBOARD_HEARTBEAT_MS`. */
  readonly name: string
  /** Dotted path of the option it sets, e.g. `heartbeatMs` or `jwt.secret`. */
  readonly option: string
  /** Options derived from the same value (`publishBurst` is twice `SWITCHBOARD_RATE_LIMIT`). */
  readonly alsoSets: readonly string[]
  /** What it means, for people. */
  readonly description: string
  /** The default when unset, as docs state it. */
  readonly default: string
  /** What a valid value is; used verbatim in error messages after "expected". */
  readonly expected: string
  /** When true, error messages never show the value. */
  readonly sensitive: boolean
  /** Turns the raw (non-blank) value into option input; range checks are left to `resolveOptions`. */
  readonly parse: (raw: string) => EnvParseResult
}

const ORIGINS_EXPECTED = "'*' or a comma-separated list of origins such as https://app.example.com"

function integer(option: string, derive?: (n: number) => SwitchboardOptionsInput): (raw: string) => EnvParseResult {
  return raw => {
    const trimmed = raw.trim()
    const n = Number(trimmed)
    if (!/^-?\d+$/.test(trimmed) || !Number.isSafeInteger(n)) return { ok: false }
    const value = n === 0 ? 0 : n
    return { ok: true, input: { ...at(option, value), ...derive?.(value) } }
  }
}

function text(option: string, trim = true): (raw: string) => EnvParseResult {
  return raw => ({ ok: true, input: at(option, trim ? raw.trim() : raw) })
}

function origins(raw: string): EnvParseResult {
  const trimmed = raw.trim()
  if (trimmed === '*') return { ok: true, input: { allowedOrigins: '*' } }
  const list: string[] = []
  for (const item of trimmed.split(',').map(s => s.trim()).filter(s => s !== '')) {
    const origin = toOrigin(item)
    if (origin === undefined) return { ok: false, problem: `${JSON.stringify(item)} is not an origin` }
    list.push(origin)
  }
  if (list.length === 0) return { ok: false }
  return { ok: true, input: { allowedOrigins: list } }
}

/** `scheme://host[:port]` as browsers send it in `Origin` (default port dropped), or undefined. */
function toOrigin(item: string): string | undefined {
  let url: URL
  try {
    url = new URL(item)
  } catch {
    return undefined
  }
  const bare = url.host !== '' && url.username === '' && url.password === '' && url.search === '' && url.hash === ''
  if (!bare || (url.pathname !== '' && url.pathname !== '/')) return undefined
  return `${url.protocol}//${url.host}`
}

/** Option input setting one dotted path (`jwt.secret` nests under `jwt`). */
function at(path: string, value: unknown): SwitchboardOptionsInput {
  const [head, tail] = path.split('.') as [string, string | undefined]
  return (tail === undefined ? { [head]: value } : { [head]: { [tail]: value } }) as SwitchboardOptionsInput
}

function merge(a: SwitchboardOptionsInput, b: SwitchboardOptionsInput): SwitchboardOptionsInput {
  const merged = { ...a, ...b }
  if (a.jwt || b.jwt) merged.jwt = { ...a.jwt, ...b.jwt }
  return merged
}

interface VariableSpec {
  name: string
  option: string
  description: string
  default: string | number
  expected: string
  parse: (raw: string) => EnvParseResult
  alsoSets?: string[]
  sensitive?: boolean
}

function variable(spec: VariableSpec): EnvVariable {
  return Object.freeze({
    ...spec,
    alsoSets: Object.freeze(spec.alsoSets ?? []),
    default: String(spec.default),
    sensitive: spec.sensitive ?? false,
  })
}

const MS = 'a positive integer (milliseconds)'
const BYTES = 'a positive integer (bytes)'
const COUNT = 'a positive integer'
const COUNT_OR_ZERO = 'an integer >= 0'

type IntegerOption = {
  [K in keyof typeof DEFAULT_OPTIONS]: (typeof DEFAULT_OPTIONS)[K] extends number ? K : never
}[keyof typeof DEFAULT_OPTIONS]

/** An integer variable whose default is the option's own in DEFAULT_OPTIONS. */
function int(name: string, option: IntegerOption, expected: string, description: string): EnvVariable {
  return variable({ name, option, description, default: DEFAULT_OPTIONS[option], expected, parse: integer(option) })
}

/**
 * Every environment variable `loadOptionsFromEnv` reads: name, option path, meaning, default,
 * what is expected, and its parser. The one source of truth for the mapping; docs are checked
 * against it. Variables of the example app itself (`PORT`, `DATABASE_URL`, `REDIS_URL`, …) are
 * not options and are not listed.
 */
export const ENV_VARIABLES: readonly EnvVariable[] = Object.freeze([
  variable({
    name: 'SWITCHBOARD_NODE_ID',
    option: 'nodeId',
    description: "this node's id, shown in `connected.node`",
    default: 'host name and pid',
    expected: 'a non-empty string of at most 200 characters',
    parse: text('nodeId'),
  }),
  int('SWITCHBOARD_HEARTBEAT_MS', 'heartbeatMs', MS, 'server ping interval and the interval clients ping at'),
  int('SWITCHBOARD_AUTH_TIMEOUT_MS', 'authTimeoutMs', MS, 'time to send `connect` after the upgrade'),
  int('SWITCHBOARD_TOKEN_GRACE_MS', 'tokenGraceMs', MS, 'time to send `refresh` after TOKEN_EXPIRED'),
  int('SWITCHBOARD_ACK_TIMEOUT_MS', 'ackTimeoutMs', MS, 'first redelivery delay for at-least-once channels'),
  int('SWITCHBOARD_REDELIVERY_ATTEMPTS', 'redeliveryAttempts', COUNT, 'redeliveries of an unacknowledged message before it is dead-lettered'),
  int('SWITCHBOARD_MAX_PAYLOAD_BYTES', 'maxPayloadBytes', BYTES, 'largest frame accepted'),
  int('SWITCHBOARD_MAX_CONNECTIONS', 'maxConnections', COUNT, 'connections per node; more get HTTP 503'),
  int('SWITCHBOARD_TRUST_PROXY', 'trustProxy', COUNT_OR_ZERO, 'proxies in front that append to X-Forwarded-For (1 behind nginx); 0 ignores the header'),
  int('SWITCHBOARD_MAX_CONNECTIONS_PER_USER', 'maxConnectionsPerUser', COUNT_OR_ZERO, 'connections one user may hold across all nodes; 0 = no limit'),
  int('SWITCHBOARD_MAX_BUFFERED_BYTES', 'maxBufferedBytes', BYTES, 'bytes queued to one connection before close 4008'),
  int('SWITCHBOARD_MAX_SUBSCRIPTIONS', 'maxSubscriptionsPerConnection', COUNT, 'channels one connection may subscribe to'),
  variable({
    name: 'SWITCHBOARD_ALLOWED_ORIGINS',
    option: 'allowedOrigins',
    description: 'comma-separated allowed `Origin`s; a request without `Origin` is allowed',
    default: 'any, with a warning; required in production',
    expected: ORIGINS_EXPECTED,
    parse: origins,
  }),
  variable({
    name: 'SWITCHBOARD_RATE_LIMIT',
    option: 'publishRatePerSecond',
    alsoSets: ['publishBurst'],
    description: 'publishes per second per connection (burst twice that)',
    default: DEFAULT_OPTIONS.publishRatePerSecond,
    expected: 'a positive integer (publishes per second)',
    parse: integer('publishRatePerSecond', n => ({ publishBurst: 2 * n })),
  }),
  variable({
    name: 'SWITCHBOARD_HANDSHAKE_RATE',
    option: 'handshakeRatePerSecond',
    alsoSets: ['handshakeBurst'],
    description: 'WebSocket handshakes per second per client IP (burst twice that); 0 disables the limit',
    default: DEFAULT_OPTIONS.handshakeRatePerSecond,
    expected: 'an integer >= 0 (handshakes per second; 0 disables the limit)',
    parse: integer('handshakeRatePerSecond', n => (n > 0 ? { handshakeBurst: 2 * n } : {})),
  }),
  int('SWITCHBOARD_DISPATCH_CONCURRENCY', 'dispatchConcurrency', COUNT, 'handler calls running at once on this node'),
  int('SWITCHBOARD_DISPATCH_QUEUE_CAP', 'dispatchQueueCap', 'an integer >= 0', 'handler calls waiting before OVERLOADED'),
  int('SWITCHBOARD_HANDLER_DEADLINE_MS', 'handlerDeadlineMs', MS, 'deadline of one handler call, queue wait included'),
  int('SWITCHBOARD_SHUTDOWN_MS', 'shutdownMs', MS, 'graceful shutdown budget'),
  variable({
    name: 'SWITCHBOARD_JWT_SECRET',
    option: 'jwt.secret',
    description: 'HS256 secret for client tokens (used as given, not trimmed)',
    default: 'none; required in production unless SWITCHBOARD_JWKS_URL is set',
    expected: 'a non-empty string',
    parse: text('jwt.secret', false),
    sensitive: true,
  }),
  variable({
    name: 'SWITCHBOARD_JWKS_URL',
    option: 'jwt.jwksUrl',
    description: 'JWKS URL for RS256/ES256 client tokens',
    default: 'none',
    expected: 'an http(s) URL',
    parse: text('jwt.jwksUrl'),
  }),
  variable({
    name: 'SWITCHBOARD_JWT_AUDIENCE',
    option: 'jwt.audience',
    description: 'required `aud` claim of client tokens',
    default: 'none (not checked)',
    expected: 'a string',
    parse: text('jwt.audience'),
  }),
  variable({
    name: 'SWITCHBOARD_JWT_ISSUER',
    option: 'jwt.issuer',
    description: 'required `iss` claim of client tokens',
    default: 'none (not checked)',
    expected: 'a string',
    parse: text('jwt.issuer'),
  }),
])

/**
 * Reads Switchboard options from environment variables (see {@link ENV_VARIABLES}). Unset and
 * blank variables are left out, so their defaults apply; the result is meant for
 * `resolveOptions` or `createSwitchboard`, merged under options given in code as the caller
 * sees fit. Values are validated here with `resolveOptions`, so a bad one fails at start-up.
 *
 * With `NODE_ENV=production`, SWITCHBOARD_JWT_SECRET (or SWITCHBOARD_JWKS_URL) and a
 * SWITCHBOARD_ALLOWED_ORIGINS list other than `*` are required.
 * @param env The environment. Default `process.env`.
 * @throws SwitchboardError `CONFIG_INVALID` with a one-line message naming the variable, its
 *   value (never for secrets) and what is expected, e.g.
 *   `SWITCHBOARD_HEARTBEAT_MS="abc": expected a positive integer (milliseconds)`.
 */
export function loadOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SwitchboardOptionsInput {
  const set: { variable: EnvVariable; raw: string; input: SwitchboardOptionsInput }[] = []
  let input: SwitchboardOptionsInput = {}
  for (const variable of ENV_VARIABLES) {
    const raw = env[variable.name]
    if (raw === undefined || raw.trim() === '') continue
    const parsed = variable.parse(raw)
    if (!parsed.ok) throw badValue(variable, raw, parsed.problem)
    set.push({ variable, raw, input: parsed.input })
    input = merge(input, parsed.input)
  }
  try {
    resolveOptions(input)
  } catch (error) {
    // resolveOptions reports an option path; find the variable behind it by resolving each
    // variable's own input alone, which needs no parsing of its message.
    for (const entry of set) {
      try {
        resolveOptions(entry.input)
      } catch (cause) {
        throw badValue(entry.variable, entry.raw, undefined, cause)
      }
    }
    throw error
  }
  if (env.NODE_ENV === 'production') checkProduction(input)
  return input
}

function checkProduction(input: SwitchboardOptionsInput): void {
  if (input.jwt?.secret === undefined && input.jwt?.jwksUrl === undefined) {
    throw new SwitchboardError(
      'CONFIG_INVALID',
      'SWITCHBOARD_JWT_SECRET is not set: expected a secret when NODE_ENV=production (or set SWITCHBOARD_JWKS_URL)',
    )
  }
  if (input.allowedOrigins === undefined || input.allowedOrigins === '*') {
    const shown = input.allowedOrigins === undefined ? ' is not set' : '="*"'
    const expected = 'a comma-separated list of origins such as https://app.example.com'
    throw new SwitchboardError('CONFIG_INVALID', `SWITCHBOARD_ALLOWED_ORIGINS${shown}: expected ${expected} when NODE_ENV=production`)
  }
}

function badValue(variable: EnvVariable, raw: string, problem?: string, cause?: unknown): SwitchboardError {
  const shown = variable.sensitive ? '<redacted>' : JSON.stringify(raw)
  const why = problem === undefined ? '' : ` (${problem})`
  return new SwitchboardError('CONFIG_INVALID', `${variable.name}=${shown}: expected ${variable.expected}${why}`, { cause })
}
