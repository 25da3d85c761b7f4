import t from 'tap'
import { ENV_VARIABLES, loadOptionsFromEnv } from '../src/env.js'
import { SwitchboardError } from '../src/errors.js'
import { DEFAULT_OPTIONS, resolveOptions, type SwitchboardOptionsInput } from '../src/options.js'

/** The message of the CONFIG_INVALID error `env` causes. */
function failure(env: NodeJS.ProcessEnv): string {
  try {
    loadOptionsFromEnv(env)
  } catch (error) {
    if (error instanceof SwitchboardError && error.code === 'CONFIG_INVALID') return error.message
    throw error
  }
  throw new Error(`no error for ${JSON.stringify(env)}`)
}

const PRODUCTION = {
  NODE_ENV: 'production',
  SWITCHBOARD_JWT_SECRET: 's3cret',
  SWITCHBOARD_ALLOWED_ORIGINS: 'https://chat.example.com',
}

t.test('loadOptionsFromEnv', async t => {
  t.test('leaves unset and blank variables out, so defaults apply', async t => {
    t.same(loadOptionsFromEnv({}), {})
    t.same(loadOptionsFromEnv({ SWITCHBOARD_HEARTBEAT_MS: '', SWITCHBOARD_NODE_ID: '   ', UNRELATED: 'x' }), {})
    t.same(resolveOptions(loadOptionsFromEnv({})), resolveOptions())
  })

  t.test('reads every variable', async t => {
    const cases: [string, string, SwitchboardOptionsInput][] = [
      ['SWITCHBOARD_NODE_ID', ' node-a ', { nodeId: 'node-a' }],
      ['SWITCHBOARD_HEARTBEAT_MS', '30000', { heartbeatMs: 30_000 }],
      ['SWITCHBOARD_AUTH_TIMEOUT_MS', '2000', { authTimeoutMs: 2_000 }],
      ['SWITCHBOARD_TOKEN_GRACE_MS', '7000', { tokenGraceMs: 7_000 }],
      ['SWITCHBOARD_ACK_TIMEOUT_MS', '15000', { ackTimeoutMs: 15_000 }],
      ['SWITCHBOARD_REDELIVERY_ATTEMPTS', '3', { redeliveryAttempts: 3 }],
      ['SWITCHBOARD_MAX_PAYLOAD_BYTES', '131072', { maxPayloadBytes: 131_072 }],
      ['SWITCHBOARD_MAX_CONNECTIONS', '5000', { maxConnections: 5_000 }],
      ['SWITCHBOARD_MAX_CONNECTIONS_PER_USER', '0', { maxConnectionsPerUser: 0 }],
      ['SWITCHBOARD_TRUST_PROXY', '1', { trustProxy: 1 }],
      ['SWITCHBOARD_MAX_BUFFERED_BYTES', '2097152', { maxBufferedBytes: 2_097_152 }],
      ['SWITCHBOARD_MAX_SUBSCRIPTIONS', '64', { maxSubscriptionsPerConnection: 64 }],
      ['SWITCHBOARD_ALLOWED_ORIGINS', '*', { allowedOrigins: '*' }],
      [
        'SWITCHBOARD_ALLOWED_ORIGINS',
        ' https://chat.example.com , http://localhost:3000/,,HTTPS://Admin.Example.com:443 ',
        { allowedOrigins: ['https://chat.example.com', 'http://localhost:3000', 'https://admin.example.com'] },
      ],
      ['SWITCHBOARD_RATE_LIMIT', '20', { publishRatePerSecond: 20, publishBurst: 40 }],
      ['SWITCHBOARD_HANDSHAKE_RATE', '10', { handshakeRatePerSecond: 10, handshakeBurst: 20 }],
      ['SWITCHBOARD_HANDSHAKE_RATE', '0', { handshakeRatePerSecond: 0 }],
      ['SWITCHBOARD_DISPATCH_CONCURRENCY', '32', { dispatchConcurrency: 32 }],
      ['SWITCHBOARD_DISPATCH_QUEUE_CAP', '0', { dispatchQueueCap: 0 }],
      ['SWITCHBOARD_DISPATCH_QUEUE_CAP', '500', { dispatchQueueCap: 500 }],
      ['SWITCHBOARD_HANDLER_DEADLINE_MS', '1500', { handlerDeadlineMs: 1_500 }],
      ['SWITCHBOARD_SHUTDOWN_MS', ' 20000 ', { shutdownMs: 20_000 }],
      ['SWITCHBOARD_JWT_SECRET', ' keep spaces ', { jwt: { secret: ' keep spaces ' } }],
      ['SWITCHBOARD_JWKS_URL', 'https://id.example.com/.well-known/jwks.json', { jwt: { jwksUrl: 'https://id.example.com/.well-known/jwks.json' } }],
      ['SWITCHBOARD_JWT_AUDIENCE', 'chat', { jwt: { audience: 'chat' } }],
      ['SWITCHBOARD_JWT_ISSUER', 'https://id.example.com', { jwt: { issuer: 'https://id.example.com' } }],
    ]
    for (const [name, value, expected] of cases) {
      t.same(loadOptionsFromEnv({ [name]: value }), expected, `${name}=${JSON.stringify(value)}`)
    }
    const covered = new Set(cases.map(([name]) => name))
    for (const variable of ENV_VARIABLES) t.ok(covered.has(variable.name), `${variable.name} has a case`)
  })

  t.test('combines variables into one input that resolves', async t => {
    const input = loadOptionsFromEnv({
      SWITCHBOARD_HEARTBEAT_MS: '10000',
      SWITCHBOARD_RATE_LIMIT: '5',
      SWITCHBOARD_JWT_SECRET: 'dev',
      SWITCHBOARD_JWT_ISSUER: 'me',
      SWITCHBOARD_ALLOWED_ORIGINS: 'https://a.example.com',
    })
    const options = resolveOptions(input)
    t.equal(options.heartbeatMs, 10_000)
    t.equal(options.publishRatePerSecond, 5)
    t.equal(options.publishBurst, 10)
    t.same(options.jwt, { secret: 'dev', issuer: 'me' })
    t.same(options.allowedOrigins, ['https://a.example.com'])
    t.equal(options.authTimeoutMs, DEFAULT_OPTIONS.authTimeoutMs, 'unset ones keep their default')
  })

  t.test('names the variable, the value and what is expected', async t => {
    t.equal(
      failure({ SWITCHBOARD_HEARTBEAT_MS: 'abc' }),
      'SWITCHBOARD_HEARTBEAT_MS="abc": expected a positive integer (milliseconds)',
    )
    t.equal(
      failure({ SWITCHBOARD_AUTH_TIMEOUT_MS: '-5' }),
      'SWITCHBOARD_AUTH_TIMEOUT_MS="-5": expected a positive integer (milliseconds)',
    )
    t.equal(failure({ SWITCHBOARD_MAX_CONNECTIONS: '0' }), 'SWITCHBOARD_MAX_CONNECTIONS="0": expected a positive integer')
    t.equal(failure({ SWITCHBOARD_DISPATCH_QUEUE_CAP: '-1' }), 'SWITCHBOARD_DISPATCH_QUEUE_CAP="-1": expected an integer >= 0')
    t.equal(
      failure({ SWITCHBOARD_ALLOWED_ORIGINS: 'https://a.example.com, nope' }),
      `SWITCHBOARD_ALLOWED_ORIGINS="https://a.example.com, nope": expected '*' or a comma-separated list of origins such as https://app.example.com ("nope" is not an origin)`,
    )
    t.equal(
      failure({ SWITCHBOARD_JWKS_URL: 'ftp://keys.example.com/jwks.json' }),
      'SWITCHBOARD_JWKS_URL="ftp://keys.example.com/jwks.json": expected an http(s) URL',
    )
    t.equal(
      failure({ SWITCHBOARD_RATE_LIMIT: '0' }),
      'SWITCHBOARD_RATE_LIMIT="0": expected a positive integer (publishes per second)',
    )
  })

  t.test('rejects values that are not integers', async t => {
    for (const value of ['abc', '1.5', '10ms', '1e3', '0x10', '99999999999999999999', '- 1']) {
      t.equal(
        failure({ SWITCHBOARD_SHUTDOWN_MS: value }),
        `SWITCHBOARD_SHUTDOWN_MS=${JSON.stringify(value)}: expected a positive integer (milliseconds)`,
        value,
      )
    }
  })

  t.test('rejects origins that are not origins', async t => {
    for (const value of ['nope', 'localhost:3000', 'https://a.example.com/app', 'https://a.example.com?x=1', 'https://user@a.example.com', ' , ']) {
      t.match(failure({ SWITCHBOARD_ALLOWED_ORIGINS: value }), /^SWITCHBOARD_ALLOWED_ORIGINS=".*": expected '\*' or a comma-separated list/, value)
    }
  })

  t.test('rejects a JWKS URL that is not an http(s) URL', async t => {
    for (const value of ['not a url', 'file:///etc/jwks.json', 'ftp://x.example.com']) {
      t.equal(failure({ SWITCHBOARD_JWKS_URL: value }), `SWITCHBOARD_JWKS_URL=${JSON.stringify(value)}: expected an http(s) URL`)
    }
  })

  t.test('rejects a node id that is too long', async t => {
    t.match(failure({ SWITCHBOARD_NODE_ID: 'n'.repeat(201) }), /^SWITCHBOARD_NODE_ID="n+": expected a non-empty string of at most 200 characters$/)
  })

  t.test('every numeric variable refuses a word and a negative number, on one line naming it', async t => {
    const numeric = ENV_VARIABLES.filter(v => typeof DEFAULT_OPTIONS[v.option as keyof typeof DEFAULT_OPTIONS] === 'number')
    t.equal(numeric.length, 17)
    for (const variable of numeric) {
      for (const value of ['many', '-1']) {
        const message = failure({ [variable.name]: value })
        t.equal(message, `${variable.name}=${JSON.stringify(value)}: expected ${variable.expected}`, `${variable.name}=${value}`)
      }
    }
  })

  t.test('keeps the resolveOptions error as the cause when it found the problem', async t => {
    try {
      loadOptionsFromEnv({ SWITCHBOARD_HEARTBEAT_MS: '1000', SWITCHBOARD_MAX_SUBSCRIPTIONS: '0' })
      t.fail('should throw')
    } catch (error) {
      t.match(error, { code: 'CONFIG_INVALID', message: /^SWITCHBOARD_MAX_SUBSCRIPTIONS="0"/ })
      t.match((error as Error).cause, { name: 'SwitchboardError', code: 'CONFIG_INVALID' })
    }
  })

  t.test('in production', async t => {
    t.test('accepts a secret and an origin list', async t => {
      t.match(loadOptionsFromEnv(PRODUCTION), { jwt: { secret: 's3cret' }, allowedOrigins: ['https://chat.example.com'] })
    })

    t.test('requires SWITCHBOARD_JWT_SECRET unless SWITCHBOARD_JWKS_URL is set', async t => {
      t.equal(
        failure({ ...PRODUCTION, SWITCHBOARD_JWT_SECRET: undefined }),
        'SWITCHBOARD_JWT_SECRET is not set: expected a secret when NODE_ENV=production (or set SWITCHBOARD_JWKS_URL)',
      )
      t.match(failure({ ...PRODUCTION, SWITCHBOARD_JWT_SECRET: ' ' }), /^SWITCHBOARD_JWT_SECRET is not set/)
      const withJwks = { ...PRODUCTION, SWITCHBOARD_JWT_SECRET: undefined, SWITCHBOARD_JWKS_URL: 'https://id.example.com/jwks' }
      t.same(loadOptionsFromEnv(withJwks).jwt, { jwksUrl: 'https://id.example.com/jwks' })
    })

    t.test('requires SWITCHBOARD_ALLOWED_ORIGINS, and not *', async t => {
      t.equal(
        failure({ ...PRODUCTION, SWITCHBOARD_ALLOWED_ORIGINS: undefined }),
        'SWITCHBOARD_ALLOWED_ORIGINS is not set: expected a comma-separated list of origins such as https://app.example.com when NODE_ENV=production',
      )
      t.equal(
        failure({ ...PRODUCTION, SWITCHBOARD_ALLOWED_ORIGINS: '*' }),
        'SWITCHBOARD_ALLOWED_ORIGINS="*": expected a comma-separated list of origins such as https://app.example.com when NODE_ENV=production',
      )
    })

    t.test('reports a bad value before a missing one', async t => {
      t.match(failure({ NODE_ENV: 'production', SWITCHBOARD_HEARTBEAT_MS: 'x' }), /^SWITCHBOARD_HEARTBEAT_MS="x"/)
    })

    t.test('does not apply outside production', async t => {
      t.same(loadOptionsFromEnv({ NODE_ENV: 'development' }), {})
    })
  })

  t.test('reads process.env by default', async t => {
    const saved = process.env.SWITCHBOARD_HANDLER_DEADLINE_MS
    t.teardown(() => {
      if (saved === undefined) delete process.env.SWITCHBOARD_HANDLER_DEADLINE_MS
      else process.env.SWITCHBOARD_HANDLER_DEADLINE_MS = saved
    })
    process.env.SWITCHBOARD_HANDLER_DEADLINE_MS = '1234'
    t.equal(loadOptionsFromEnv().handlerDeadlineMs, 1234)
  })
})

t.test('ENV_VARIABLES', async t => {
  t.test('lists each variable once, under the SWITCHBOARD_ prefix', async t => {
    const names = ENV_VARIABLES.map(v => v.name)
    t.equal(new Set(names).size, names.length)
    for (const name of names) t.match(name, /^SWITCHBOARD_[A-Z_]+$/)
  })

  t.test('covers the documented variables', async t => {
    const documented = [
      'SWITCHBOARD_NODE_ID', 'SWITCHBOARD_HEARTBEAT_MS', 'SWITCHBOARD_AUTH_TIMEOUT_MS', 'SWITCHBOARD_MAX_PAYLOAD_BYTES',
      'SWITCHBOARD_MAX_CONNECTIONS', 'SWITCHBOARD_MAX_CONNECTIONS_PER_USER', 'SWITCHBOARD_TRUST_PROXY', 'SWITCHBOARD_ALLOWED_ORIGINS', 'SWITCHBOARD_RATE_LIMIT', 'SWITCHBOARD_SHUTDOWN_MS',
      'SWITCHBOARD_JWT_SECRET', 'SWITCHBOARD_JWKS_URL', 'SWITCHBOARD_JWT_AUDIENCE', 'SWITCHBOARD_JWT_ISSUER',
      'SWITCHBOARD_MAX_BUFFERED_BYTES', 'SWITCHBOARD_MAX_SUBSCRIPTIONS', 'SWITCHBOARD_DISPATCH_CONCURRENCY',
      'SWITCHBOARD_DISPATCH_QUEUE_CAP', 'SWITCHBOARD_HANDLER_DEADLINE_MS', 'SWITCHBOARD_TOKEN_GRACE_MS', 'SWITCHBOARD_HANDSHAKE_RATE',
      'SWITCHBOARD_ACK_TIMEOUT_MS', 'SWITCHBOARD_REDELIVERY_ATTEMPTS',
    ]
    t.same(ENV_VARIABLES.map(v => v.name).sort(), [...documented].sort())
  })

  t.test('points at real options, with their defaults', async t => {
    const jwtKeys = ['secret', 'jwksUrl', 'audience', 'issuer']
    for (const variable of ENV_VARIABLES) {
      for (const path of [variable.option, ...variable.alsoSets]) {
        const [head, tail] = path.split('.')
        t.ok(head! in DEFAULT_OPTIONS && (tail === undefined || (head === 'jwt' && jwtKeys.includes(tail))), `${variable.name} → ${path}`)
      }
      t.ok(variable.description.length > 0 && variable.expected.length > 0, `${variable.name} is described`)
      const fallback = DEFAULT_OPTIONS[variable.option as keyof typeof DEFAULT_OPTIONS]
      if (typeof fallback === 'number') t.equal(variable.default, String(fallback), `${variable.name} default`)
    }
    t.ok(Object.isFrozen(ENV_VARIABLES))
  })
})
