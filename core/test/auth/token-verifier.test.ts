import { createHmac } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import t, { type Test } from 'tap'
import { createJwtVerifier, signDevToken } from '../../src/auth/token-verifier.js'
import { isSwitchboardError } from '../../src/errors.js'

const SECRET = 'test-secret-with-enough-entropy-0123456789'
const now = (): number => Math.floor(Date.now() / 1000)

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/** Builds an HS256 JWT by hand, so tests can sign any header and payload (including bad ones). */
function hs256(payload: Record<string, unknown>, secret: string | Buffer = SECRET, header: Record<string, unknown> = {}): string {
  const signingInput = `${b64({ alg: 'HS256', typ: 'JWT', ...header })}.${b64(payload)}`
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`
}

/** A valid payload for `user`, expiring in an hour. */
const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ sub: 'alice', exp: now() + 3600, ...extra })

/** Resolves to the error `promise` rejects with, failing the test when it resolves. */
async function rejection(t: Test, promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  t.fail('expected a rejection')
  return new Error('resolved')
}

/** Asserts `promise` rejects with a SwitchboardError of `code` whose message is short and safe. */
async function rejectsWith(t: Test, promise: Promise<unknown>, code: 'UNAUTHORIZED' | 'TOKEN_EXPIRED' | 'INTERNAL', leaks: string[] = []): Promise<void> {
  const error = await rejection(t, promise)
  t.ok(isSwitchboardError(error, code), `rejects with ${code} (got ${String((error as { code?: unknown }).code)})`)
  t.notMatch(error.message, /\n\s*at /, 'message carries no stack')
  t.ok(error.message.length < 100, 'message is short')
  for (const secret of [SECRET, ...leaks]) t.notOk(error.message.includes(secret), 'message leaks nothing')
}

t.test('createJwtVerifier › configuration', async t => {
  t.test('refuses neither secret nor jwksUrl', async t => {
    t.throws(() => createJwtVerifier({}), { code: 'CONFIG_INVALID' })
  })
  t.test('refuses both secret and jwksUrl', async t => {
    t.throws(() => createJwtVerifier({ secret: SECRET, jwksUrl: 'https://id.example/jwks.json' }), { code: 'CONFIG_INVALID' })
  })
  t.test('refuses an empty secret', async t => {
    t.throws(() => createJwtVerifier({ secret: '' }), { code: 'CONFIG_INVALID' })
  })
  t.test('refuses a jwksUrl that is not http(s)', async t => {
    t.throws(() => createJwtVerifier({ jwksUrl: 'ftp://id.example/jwks.json' }), { code: 'CONFIG_INVALID' })
    t.throws(() => createJwtVerifier({ jwksUrl: 'not a url' }), { code: 'CONFIG_INVALID' })
  })
  t.test('refuses a negative clockToleranceSec', async t => {
    t.throws(() => createJwtVerifier({ secret: SECRET, clockToleranceSec: -1 }), { code: 'CONFIG_INVALID' })
  })
})

t.test('createJwtVerifier › HS256', async t => {
  const verify = createJwtVerifier({ secret: SECRET })

  t.test('accepts a valid token and returns user, exp and claims', async t => {
    const exp = now() + 600
    const result = await verify(hs256({ sub: 'alice', exp, role: 'admin' }))
    t.equal(result.user, 'alice')
    t.equal(result.exp, exp)
    t.equal(result.claims.role, 'admin')
    t.ok(Object.isFrozen(result.claims), 'claims are frozen')
  })
  t.test('refuses a wrong signature', async t => {
    await rejectsWith(t, verify(hs256(claims(), 'another-secret')), 'UNAUTHORIZED', ['another-secret'])
  })
  t.test('keeps the underlying error as cause', async t => {
    const error = await rejection(t, verify(hs256(claims(), 'another-secret')))
    t.ok(error.cause instanceof Error, 'cause is the jose error')
  })
  t.test('refuses a tampered payload', async t => {
    const [header, , signature] = hs256(claims()).split('.')
    await rejectsWith(t, verify(`${header}.${b64(claims({ sub: 'mallory' }))}.${signature}`), 'UNAUTHORIZED')
  })
  t.test('refuses alg none', async t => {
    await rejectsWith(t, verify(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`), 'UNAUTHORIZED')
  })
  t.test('refuses an expired token with TOKEN_EXPIRED', async t => {
    await rejectsWith(t, verify(hs256(claims({ exp: now() - 60 }))), 'TOKEN_EXPIRED')
  })
  t.test('refuses an expired token with a bad signature as UNAUTHORIZED', async t => {
    await rejectsWith(t, verify(hs256(claims({ exp: now() - 60 }), 'another-secret')), 'UNAUTHORIZED')
  })
  t.test('allows 5 seconds of clock skew by default', async t => {
    const result = await verify(hs256(claims({ exp: now() - 2 })))
    t.equal(result.user, 'alice')
  })
  t.test('honours clockToleranceSec', async t => {
    const strict = createJwtVerifier({ secret: SECRET, clockToleranceSec: 0 })
    await rejectsWith(t, strict(hs256(claims({ exp: now() - 2 }))), 'TOKEN_EXPIRED')
  })
  t.test('refuses a token that is not valid yet (nbf in the future)', async t => {
    await rejectsWith(t, verify(hs256(claims({ nbf: now() + 60 }))), 'UNAUTHORIZED')
  })
  t.test('accepts a token whose nbf has passed', async t => {
    t.equal((await verify(hs256(claims({ nbf: now() - 60 })))).user, 'alice')
  })
  t.test('refuses a token without exp', async t => {
    await rejectsWith(t, verify(hs256({ sub: 'alice' })), 'UNAUTHORIZED')
  })
  t.test('refuses a non-numeric exp', async t => {
    await rejectsWith(t, verify(hs256({ sub: 'alice', exp: String(now() + 600) })), 'UNAUTHORIZED')
  })
  t.test('refuses a token without sub', async t => {
    await rejectsWith(t, verify(hs256({ exp: now() + 600 })), 'UNAUTHORIZED')
  })
  t.test('refuses an empty sub', async t => {
    await rejectsWith(t, verify(hs256(claims({ sub: '' }))), 'UNAUTHORIZED')
  })
  t.test('refuses a non-string sub', async t => {
    await rejectsWith(t, verify(hs256(claims({ sub: 42 }))), 'UNAUTHORIZED')
  })
  t.test('refuses malformed strings', async t => {
    const header = b64({ alg: 'HS256', typ: 'JWT' })
    const malformed = ['', 'a.b', 'a.b.c', '%%%garbage%%%', '....', `${header}.bm90IGpzb24.sig`, `${header}.${b64([1, 2])}.sig`]
    for (const token of malformed) await rejectsWith(t, verify(token), 'UNAUTHORIZED')
  })
  t.test('refuses a non-string token', async t => {
    await rejectsWith(t, verify(undefined as unknown as string), 'UNAUTHORIZED')
  })
  t.test('refuses a token that is JSON but not a JWT payload object', async t => {
    const signingInput = `${b64({ alg: 'HS256' })}.${b64('just a string')}`
    const token = `${signingInput}.${createHmac('sha256', SECRET).update(signingInput).digest('base64url')}`
    await rejectsWith(t, verify(token), 'UNAUTHORIZED')
  })
})

t.test('createJwtVerifier › audience and issuer', async t => {
  const verify = createJwtVerifier({ secret: SECRET, audience: 'chat', issuer: 'https://id.example' })
  const good = { aud: 'chat', iss: 'https://id.example' }

  t.test('accepts the configured audience and issuer', async t => {
    t.equal((await verify(hs256(claims(good)))).user, 'alice')
    t.equal((await verify(hs256(claims({ ...good, aud: ['other', 'chat'] })))).user, 'alice', 'aud may be a list')
  })
  t.test('refuses a wrong audience', async t => {
    await rejectsWith(t, verify(hs256(claims({ ...good, aud: 'billing' }))), 'UNAUTHORIZED')
  })
  t.test('refuses a missing audience', async t => {
    await rejectsWith(t, verify(hs256(claims({ iss: good.iss }))), 'UNAUTHORIZED')
  })
  t.test('refuses a wrong issuer', async t => {
    await rejectsWith(t, verify(hs256(claims({ ...good, iss: 'https://evil.example' }))), 'UNAUTHORIZED')
  })
  t.test('refuses a missing issuer', async t => {
    await rejectsWith(t, verify(hs256(claims({ aud: good.aud }))), 'UNAUTHORIZED')
  })
  t.test('ignores aud and iss when not configured', async t => {
    const open = createJwtVerifier({ secret: SECRET })
    t.equal((await open(hs256(claims({ aud: 'anything', iss: 'anyone' })))).user, 'alice')
  })
})

t.test('signDevToken', async t => {
  const verify = createJwtVerifier({ secret: SECRET })

  t.test('signs an HS256 token the verifier accepts, valid for an hour by default', async t => {
    const token = await signDevToken(SECRET, 'bob')
    t.same(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()), { alg: 'HS256', typ: 'JWT' })
    const before = now()
    const result = await verify(token)
    t.equal(result.user, 'bob')
    t.ok(result.exp >= before + 3599 && result.exp <= now() + 3600, 'exp is an hour away')
  })
  t.test('honours expiresInSec and extra claims, which cannot override sub or exp', async t => {
    const result = await verify(await signDevToken(SECRET, 'bob', { expiresInSec: 60, claims: { room: 'lobby', sub: 'mallory', exp: 1 } }))
    t.equal(result.user, 'bob')
    t.equal(result.claims.room, 'lobby')
    t.ok(result.exp <= now() + 60 && result.exp > now(), 'exp is a minute away')
  })
  t.test('refuses an empty secret or user and a non-positive lifetime', async t => {
    await t.rejects(signDevToken('', 'bob'), { code: 'CONFIG_INVALID' })
    await t.rejects(signDevToken(SECRET, ''), { code: 'CONFIG_INVALID' })
    await t.rejects(signDevToken(SECRET, 'bob', { expiresInSec: 0 }), { code: 'CONFIG_INVALID' })
  })
})

interface JwksServer {
  url: string
  requests: () => number
}

/** Starts a JWKS server on 127.0.0.1, closed (with its connections) on teardown. */
async function startServer(t: Test, handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<JwksServer> {
  let requests = 0
  const server = createServer((req, res) => {
    requests++
    handle(req, res)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  })
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/.well-known/jwks.json`, requests: () => requests }
}

t.test('createJwtVerifier › JWKS', async t => {
  const rs = await generateKeyPair('RS256')
  const es = await generateKeyPair('ES256')
  const otherRs = await generateKeyPair('RS256')
  const rsJwk: JWK = { ...(await exportJWK(rs.publicKey)), kid: 'rs-1', alg: 'RS256', use: 'sig' }
  const esJwk: JWK = { ...(await exportJWK(es.publicKey)), kid: 'es-1', alg: 'ES256', use: 'sig' }
  const jwks = JSON.stringify({ keys: [rsJwk, esJwk] })
  const server = await startServer(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(jwks)
  })
  const verify = createJwtVerifier({ jwksUrl: server.url })

  const sign = (key: CryptoKey, alg: string, kid: string, payload = claims()): Promise<string> =>
    new SignJWT(payload).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(key)

  t.test('accepts RS256 and ES256 tokens and fetches the key set once', async t => {
    t.equal((await verify(await sign(rs.privateKey, 'RS256', 'rs-1'))).user, 'alice')
    t.equal((await verify(await sign(es.privateKey, 'ES256', 'es-1'))).user, 'alice')
    t.equal(server.requests(), 1, 'keys are cached')
  })
  t.test('refuses a token signed with another RSA key under a known kid', async t => {
    await rejectsWith(t, verify(await sign(otherRs.privateKey, 'RS256', 'rs-1')), 'UNAUTHORIZED')
  })
  t.test('refuses a token signed with another RSA key under an unknown kid', async t => {
    await rejectsWith(t, verify(await sign(otherRs.privateKey, 'RS256', 'rs-unknown')), 'UNAUTHORIZED')
  })
  t.test('refuses an expired RS256 token with TOKEN_EXPIRED', async t => {
    await rejectsWith(t, verify(await sign(rs.privateKey, 'RS256', 'rs-1', claims({ exp: now() - 60 }))), 'TOKEN_EXPIRED')
  })
  t.test('refuses an HS256 token keyed with the RSA public key (algorithm swap)', async t => {
    const pem = await exportSPKI(rs.publicKey)
    for (const secret of [pem, JSON.stringify(rsJwk), Buffer.from(rsJwk.n!, 'base64url')]) {
      await rejectsWith(t, verify(hs256(claims(), secret, { kid: 'rs-1' })), 'UNAUTHORIZED', [pem])
    }
  })
  t.test('refuses alg none', async t => {
    await rejectsWith(t, verify(`${b64({ alg: 'none', typ: 'JWT', kid: 'rs-1' })}.${b64(claims())}.`), 'UNAUTHORIZED')
  })
  t.test('refuses an RS256 token whose header claims ES256', async t => {
    const [, payload, signature] = (await sign(rs.privateKey, 'RS256', 'rs-1')).split('.')
    await rejectsWith(t, verify(`${b64({ alg: 'ES256', kid: 'es-1' })}.${payload}.${signature}`), 'UNAUTHORIZED')
  })
})

t.test('createJwtVerifier › JWKS unavailable', async t => {
  const rs = await generateKeyPair('RS256')
  const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: 'rs-1' }).sign(rs.privateKey)

  t.test('cannot verify (INTERNAL, not UNAUTHORIZED) when the JWKS server is down', async t => {
    const probe = createServer()
    await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
    const { port } = probe.address() as AddressInfo
    await new Promise(resolve => probe.close(resolve))
    const url = `http://127.0.0.1:${port}/jwks.json`
    await rejectsWith(t, createJwtVerifier({ jwksUrl: url })(token), 'INTERNAL', [url, String(port)])
  })
  t.test('cannot verify (INTERNAL) when the JWKS server answers 500', async t => {
    const server = await startServer(t, (_req, res) => {
      res.writeHead(500)
      res.end('boom')
    })
    await rejectsWith(t, createJwtVerifier({ jwksUrl: server.url })(token), 'INTERNAL', [server.url, 'boom'])
  })
  t.test('cannot verify (INTERNAL) when the JWKS server sends garbage', async t => {
    const server = await startServer(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"keys": 42}')
    })
    await rejectsWith(t, createJwtVerifier({ jwksUrl: server.url })(token), 'INTERNAL', [server.url])
  })
})

t.test('createJwtVerifier › the reserved user id "system" is refused', async t => {
  const verify = createJwtVerifier({ secret: 'reserved-secret' })
  await t.rejects(verify(await signDevToken('reserved-secret', 'system')), { code: 'UNAUTHORIZED', message: /reserved/ })
  t.equal((await verify(await signDevToken('reserved-secret', 'systems'))).user, 'systems')
})
