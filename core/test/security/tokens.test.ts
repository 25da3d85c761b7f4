import { createHmac } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import t, { type Test } from 'tap'
import { silentLogger } from '../../src/observability/logger.js'
import { createSwitchboard } from '../../src/switchboard.js'
import { TestClient, type AnyFrame } from '../../src/testing/test-client.js'
import { startTestServer, TEST_JWT_SECRET } from '../../src/testing/test-server.js'

/**
 * Hostile tokens over the wire, against a node that requires an audience: an HS256 node (shared
 * secret) and an RS256 node (JWKS). The verifier's unit tests (core/test/auth/token-verifier.test.ts)
 * cover the same cases on the function; these prove the node refuses them on `connect` (error,
 * then close 4001, no session) and on `refresh` (error, the connection keeps its user).
 */

const AUDIENCE = 'chat'
const now = (): number => Math.floor(Date.now() / 1000)
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ sub: 'alice', aud: AUDIENCE, exp: now() + 3600, ...extra })

/** Signs any header and payload with HMAC by hand (the key may be anything, e.g. an RSA public key). */
function hmacToken(payload: Record<string, unknown>, key: string | Buffer, header: Record<string, unknown> = {}, hash = 'sha256'): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT', ...header })}.${b64(payload)}`
  return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`
}

/** An unsigned token with the given `alg` spelling. */
const unsigned = (alg: string, payload = claims()): string => `${b64({ alg, typ: 'JWT' })}.${b64(payload)}.`

/** Connects with `token`; resolves with the reply and, when refused, the close code and the node's session count. */
async function attempt(url: string, token: string): Promise<{ reply: AnyFrame; close?: number }> {
  const client = await TestClient.open(url)
  const reply = await client.request({ type: 'connect', token })
  if (reply.type === 'connected') {
    await client.close()
    return { reply }
  }
  return { reply, close: (await client.waitClosed()).code }
}

async function listen(t: Test, handler: Parameters<typeof createServer>[1]): Promise<{ url: string; requests: () => number }> {
  let requests = 0
  const server: Server = createServer((req, res) => {
    requests++
    handler!(req, res)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`, requests: () => requests }
}

t.test('tokens › HS256 node with an audience › refuses every forged, misdirected or stale token with an error and close 4001', async t => {
  const server = await startTestServer({ jwt: { audience: AUDIENCE } })
  t.teardown(() => server.close())
  const rsa = await generateKeyPair('RS256')
  const cases: [string, () => string | Promise<string>, string][] = [
    ['alg none', () => unsigned('none'), 'UNAUTHORIZED'],
    ['alg None', () => unsigned('None'), 'UNAUTHORIZED'],
    ['alg NONE with a signature', () => `${unsigned('NONE')}c2ln`, 'UNAUTHORIZED'],
    ['alg HS512 with the right secret (only HS256 is allowed)', () => hmacToken(claims(), TEST_JWT_SECRET, { alg: 'HS512' }, 'sha512'), 'UNAUTHORIZED'],
    ['an RS256 token signed with some RSA key (RS on an HS node)', () => new SignJWT(claims()).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey), 'UNAUTHORIZED'],
    ['a wrong audience', () => hmacToken(claims({ aud: 'billing' }), TEST_JWT_SECRET), 'UNAUTHORIZED'],
    ['a list of wrong audiences', () => hmacToken(claims({ aud: ['billing', 'chat-admin'] }), TEST_JWT_SECRET), 'UNAUTHORIZED'],
    ['no audience', () => hmacToken(claims({ aud: undefined }), TEST_JWT_SECRET), 'UNAUTHORIZED'],
    ['an audience of another case', () => hmacToken(claims({ aud: 'CHAT' }), TEST_JWT_SECRET), 'UNAUTHORIZED'],
    ['an expired token', () => hmacToken(claims({ exp: now() - 3600 }), TEST_JWT_SECRET), 'TOKEN_EXPIRED'],
    ['an expired token with a forged signature', () => hmacToken(claims({ exp: now() - 3600 }), 'guessed-secret'), 'UNAUTHORIZED'],
    ['a token not valid for ten minutes (nbf)', () => hmacToken(claims({ nbf: now() + 600 }), TEST_JWT_SECRET), 'UNAUTHORIZED'],
    ['a token issued in the future with exp far away but nbf ahead', () => hmacToken(claims({ iat: now() + 600, nbf: now() + 600 }), TEST_JWT_SECRET), 'UNAUTHORIZED'],
  ]
  for (const [name, make, code] of cases) {
    t.test(name, async t => {
      const { reply, close } = await attempt(server.url, await make())
      t.match(reply, { type: 'error', code })
      t.equal(close, 4001)
      t.equal([...server.switchboard.sessions()].length, 0, 'no session was opened')
    })
  }
  t.test('control: the right audience connects', async t => {
    const { reply } = await attempt(server.url, hmacToken(claims(), TEST_JWT_SECRET))
    t.match(reply, { type: 'connected', user: 'alice' })
  })
})

t.test('tokens › RS256 node (JWKS) with an audience › refuses algorithm swaps, embedded and remote keys, and bad claims', async t => {
  const key = await generateKeyPair('RS256')
  const attacker = await generateKeyPair('RS256')
  const jwk: JWK = { ...(await exportJWK(key.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }
  const attackerJwk: JWK = { ...(await exportJWK(attacker.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }
  const jwks = await listen(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ keys: [jwk] }))
  })
  const evil = await listen(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ keys: [attackerJwk] }))
  })
  const switchboard = createSwitchboard({ logger: silentLogger(), jwt: { jwksUrl: jwks.url, audience: AUDIENCE } })
  t.teardown(() => switchboard.close())
  const { port } = await switchboard.listen(0, '127.0.0.1')
  const url = `ws://127.0.0.1:${port}/ws`
  const rs256 = (signer: CryptoKey, payload = claims(), header: Record<string, unknown> = {}): Promise<string> =>
    new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'k1', ...header }).sign(signer)
  const pem = await exportSPKI(key.publicKey)

  const cases: [string, () => string | Promise<string>, string][] = [
    ['HS256 keyed with the RSA public key (PEM)', () => hmacToken(claims(), pem, { kid: 'k1' }), 'UNAUTHORIZED'],
    ['HS256 keyed with the public JWK as JSON', () => hmacToken(claims(), JSON.stringify(jwk), { kid: 'k1' }), 'UNAUTHORIZED'],
    ['HS256 keyed with the modulus bytes', () => hmacToken(claims(), Buffer.from(jwk.n!, 'base64url'), { kid: 'k1' }), 'UNAUTHORIZED'],
    ['alg none', () => unsigned('none'), 'UNAUTHORIZED'],
    ['signed by another key under the known kid', () => rs256(attacker.privateKey), 'UNAUTHORIZED'],
    ['signed by another key that it embeds (jwk header)', () => rs256(attacker.privateKey, claims(), { jwk: attackerJwk }), 'UNAUTHORIZED'],
    ['signed by another key that it points to (jku header)', () => rs256(attacker.privateKey, claims(), { jku: evil.url }), 'UNAUTHORIZED'],
    ['a wrong audience', () => rs256(key.privateKey, claims({ aud: 'billing' })), 'UNAUTHORIZED'],
    ['no audience', () => rs256(key.privateKey, claims({ aud: undefined })), 'UNAUTHORIZED'],
    ['an expired token', () => rs256(key.privateKey, claims({ exp: now() - 3600 })), 'TOKEN_EXPIRED'],
    ['a token not valid yet (nbf)', () => rs256(key.privateKey, claims({ nbf: now() + 600 })), 'UNAUTHORIZED'],
  ]
  for (const [name, make, code] of cases) {
    t.test(name, async t => {
      const { reply, close } = await attempt(url, await make())
      t.match(reply, { type: 'error', code })
      t.notMatch(String(reply.message), /BEGIN|-----|at \//, 'no key material or stack in the message')
      t.equal(close, 4001)
    })
  }
  t.test('control: a genuine RS256 token with the audience connects', async t => {
    t.match((await attempt(url, await rs256(key.privateKey))).reply, { type: 'connected', user: 'alice' })
  })
  t.test('the URL in a jku header was never fetched', async t => {
    t.equal(evil.requests(), 0)
  })
})

t.test('tokens › refresh with a hostile token is refused and the connection keeps its user and expiry', async t => {
  const server = await startTestServer({ jwt: { audience: AUDIENCE } })
  t.teardown(() => server.close())
  const client = await TestClient.open(server.url)
  const exp = now() + 3600
  t.match(await client.request({ type: 'connect', token: hmacToken(claims({ exp }), TEST_JWT_SECRET) }), { type: 'connected', user: 'alice' })
  const cases: [string, string, string[]][] = [
    ['alg none for the same user', unsigned('none', claims({ exp: exp + 600 })), ['UNAUTHORIZED']],
    ['another user', hmacToken(claims({ sub: 'mallory' }), TEST_JWT_SECRET), ['UNAUTHORIZED']],
    ['a wrong audience', hmacToken(claims({ aud: 'billing' }), TEST_JWT_SECRET), ['UNAUTHORIZED']],
    ['an expired token', hmacToken(claims({ exp: now() - 3600 }), TEST_JWT_SECRET), ['TOKEN_EXPIRED', 'UNAUTHORIZED']],
    ['a forged signature', hmacToken(claims({ exp: exp + 600 }), 'guessed-secret'), ['UNAUTHORIZED']],
  ]
  for (const [name, token, codes] of cases) {
    const reply = await client.request({ type: 'refresh', token })
    t.equal(reply.type, 'error', name)
    t.ok(codes.includes(String(reply.code)), `${name}: ${String(reply.code)}`)
  }
  t.match(await client.request({ type: 'ping' }), { type: 'pong' }, 'the connection stays')
  const [session] = [...server.switchboard.sessions()]
  t.equal(session?.user, 'alice', 'still alice')
  // The connection's current token expiry (Connection.tokenExp; not part of the Session interface).
  t.equal((session as unknown as { tokenExp?: number } | undefined)?.tokenExp, exp, 'expiry unchanged')
  await client.close()
})
