import t from 'tap'
import { TestClient } from '../../src/testing/test-client.js'
import { startTestServer, TEST_JWT_SECRET } from '../../src/testing/test-server.js'
import { createJwtVerifier, signDevToken } from '../../src/auth/token-verifier.js'
import { createHmac } from 'node:crypto'

const b64 = (value: object | string): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/** Signs arbitrary claims with HS256 by hand (so tests can make tokens the helpers refuse to). */
function hs256(claims: object, secret = TEST_JWT_SECRET): string {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`
}
const now = (): number => Math.floor(Date.now() / 1000)

t.test('connect › a valid token answers connected', async t => {
  const server = await startTestServer({ nodeId: 'node-a', heartbeatMs: 30_000 })
  t.teardown(() => server.close())
  const client = await TestClient.open(server.url)
  const reply = await client.request({ type: 'connect', token: await server.token('alice'), client: { name: 'test', version: '1' } })
  t.match(reply, { type: 'connected', user: 'alice', node: 'node-a', heartbeatMs: 30_000 })
  t.type(reply.session, 'string')
  t.match(await client.request({ type: 'ping' }), { type: 'pong' })
  await client.close()
})

t.test('connect › refusals answer an error and close 4001', async t => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const cases: [string, () => string | Promise<string>, string][] = [
    ['a wrong signature', () => signDevToken('another-secret', 'alice'), 'UNAUTHORIZED'],
    ['alg none', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', exp: now() + 60 })}.`, 'UNAUTHORIZED'],
    ['an expired token', () => hs256({ sub: 'alice', exp: now() - 3600 }), 'TOKEN_EXPIRED'],
    ['a token not yet valid', () => hs256({ sub: 'alice', exp: now() + 3600, nbf: now() + 600 }), 'UNAUTHORIZED'],
    ['a token without exp', () => hs256({ sub: 'alice' }), 'UNAUTHORIZED'],
    ['a token without sub', () => hs256({ exp: now() + 60 }), 'UNAUTHORIZED'],
    ['garbage', () => 'not.a.jwt', 'UNAUTHORIZED'],
  ]
  for (const [name, make, code] of cases) {
    t.test(name, async t => {
      const client = await TestClient.open(server.url)
      const reply = await client.request({ type: 'connect', token: await make() })
      t.match(reply, { type: 'error', code })
      t.notMatch(String(reply.message), /at |\n|secret/i, 'no internals in the message')
      t.match(await client.waitClosed(), { code: 4001 })
    })
  }
})

t.test('connect › any other frame first answers UNAUTHORIZED and closes 4001', async t => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const frames: Record<string, unknown>[] = [
    { type: 'ping', id: 1 },
    { type: 'subscribe', id: 2, channel: 'room:lobby' },
    // Objects that are no well-formed frame count as "any other frame" too.
    { type: 'connect', id: 3 },
    { type: 'connect', id: 4, token: '' },
    { type: 'connect', id: 5, token: 'x'.repeat(8193) },
    { type: 'subscribe', id: 6 },
    { type: 'hello', id: 7 },
    { id: 8 },
  ]
  for (const frame of frames) {
    const client = await TestClient.open(server.url)
    client.send(frame)
    t.match(await client.next('error'), { type: 'error', id: frame['id'], code: 'UNAUTHORIZED' }, JSON.stringify(frame).slice(0, 60))
    t.match(await client.waitClosed(), { code: 4001 })
  }
  const noToken = await TestClient.open(server.url)
  noToken.send({ type: 'connect', id: 9 })
  t.match(await noToken.next('error'), { code: 'UNAUTHORIZED', details: [{ path: 'token' }] }, 'details say what was wrong')
  await noToken.waitClosed()
})

t.test('connect › a first frame that is not an object is BAD_FRAME; the connection stays open for a connect', async t => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  for (const raw of ['{"type":', '[1,2]', '"connect"']) {
    const client = await TestClient.open(server.url)
    client.sendRaw(raw)
    t.match(await client.next('error'), { type: 'error', code: 'BAD_FRAME' }, raw)
    t.match(await client.request({ type: 'connect', token: await server.token('alice') }), { type: 'connected', user: 'alice' })
    await client.close()
  }
})

t.test('connect › a connect past the handler deadline answers TIMEOUT and closes 1011; never connected', async t => {
  let release!: () => void
  const gate = new Promise<void>(resolve => (release = resolve))
  let entered!: () => void
  const inHook = new Promise<void>(resolve => (entered = resolve))
  const server = await startTestServer({
    handlerDeadlineMs: 100,
    hooks: {
      onConnect: async () => {
        entered()
        await gate
      },
    },
  })
  t.teardown(() => server.close())
  const client = await TestClient.open(server.url)
  const reply = client.request({ type: 'connect', token: await server.token('alice') })
  client.send({ type: 'ping', id: 50 })
  await inHook
  t.match(await reply, { type: 'error', code: 'TIMEOUT' })
  t.match(await client.waitClosed(), { code: 1011 })
  release()
  t.same(client.frames.filter(f => f.type === 'connected' || f.type === 'pong'), [], 'no connected, and the queued ping never ran')
})

t.test('connect › silence past authTimeoutMs closes 4009', async t => {
  const server = await startTestServer({ authTimeoutMs: 100 })
  t.teardown(() => server.close())
  const client = await TestClient.open(server.url)
  t.match(await client.waitClosed(), { code: 4009 })
  t.equal(client.frames.length, 0)
})

t.test('connect › a second connect is a BAD_FRAME and changes nothing', async t => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const client = await server.connect('alice')
  t.match(await client.request({ type: 'connect', token: await server.token('mallory') }), { type: 'error', code: 'BAD_FRAME' })
  t.match(await client.request({ type: 'ping' }), { type: 'pong' })
  await client.close()
})

t.test('token expiry › TOKEN_EXPIRED, then close 4001 after the grace period', async t => {
  const server = await startTestServer({ tokenGraceMs: 100 })
  t.teardown(() => server.close())
  const client = await TestClient.open(server.url)
  t.match(await client.request({ type: 'connect', token: hs256({ sub: 'alice', exp: now() + 1 }) }), { type: 'connected' })
  t.match(await client.next('error'), { code: 'TOKEN_EXPIRED' })
  t.match(await client.waitClosed(), { code: 4001 })
})

t.test('token expiry › a refresh within the grace period keeps the connection', async t => {
  const server = await startTestServer({ tokenGraceMs: 60_000 })
  t.teardown(() => server.close())
  const client = await TestClient.open(server.url)
  t.match(await client.request({ type: 'connect', token: hs256({ sub: 'alice', exp: now() + 1 }) }), { type: 'connected' })
  t.match(await client.next('error'), { code: 'TOKEN_EXPIRED' })
  const exp = now() + 3600
  t.same(await client.request({ type: 'refresh', token: hs256({ sub: 'alice', exp }) }), { type: 'refreshed', id: 2, exp })
  t.match(await client.request({ type: 'ping' }), { type: 'pong' })
  t.equal(server.switchboard.connectionCount, 1)
  await client.close()
})

t.test('token expiry › a refreshed token that expires in turn gets its own TOKEN_EXPIRED', async t => {
  const server = await startTestServer({ tokenGraceMs: 60_000 })
  t.teardown(() => server.close())
  const client = await TestClient.open(server.url)
  t.match(await client.request({ type: 'connect', token: hs256({ sub: 'alice', exp: now() + 1 }) }), { type: 'connected' })
  t.match(await client.next('error'), { code: 'TOKEN_EXPIRED' }, 'the first token expired')
  t.match(await client.request({ type: 'refresh', token: hs256({ sub: 'alice', exp: now() + 1 }) }), { type: 'refreshed' })
  t.match(await client.next('error'), { code: 'TOKEN_EXPIRED' }, 'and so did the second')
  t.match(await client.request({ type: 'ping' }), { type: 'pong' }, 'still within its grace period')
  await client.close()
})

t.test('refresh › a token for another user or a bad token is refused and changes nothing', async t => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const client = await server.connect('alice')
  t.match(await client.request({ type: 'refresh', token: await server.token('mallory') }), { type: 'error', code: 'UNAUTHORIZED' })
  t.match(await client.request({ type: 'refresh', token: await signDevToken('wrong', 'alice') }), { type: 'error', code: 'UNAUTHORIZED' })
  t.match(await client.request({ type: 'ping' }), { type: 'pong' })
  const sessions = [...server.switchboard.sessions()]
  t.equal(sessions[0]?.user, 'alice')
  await client.close()
})

t.test('connect › a token that cannot be checked now (JWKS unreachable) is INTERNAL and close 1011, not refused', async t => {
  const { createServer } = await import('node:http')
  const probe = createServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as import('node:net').AddressInfo
  await new Promise(resolve => probe.close(resolve))
  const server = await startTestServer({ authenticate: createJwtVerifier({ jwksUrl: `http://127.0.0.1:${port}/jwks.json` }) })
  t.teardown(() => server.close())
  const client = await TestClient.open(server.url)
  const token = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${b64({ sub: 'alice', exp: now() + 60 })}.c2ln`
  const reply = await client.request({ type: 'connect', token })
  t.match(reply, { type: 'error', code: 'INTERNAL' })
  t.notMatch(String(reply.message), new RegExp(String(port)), 'the URL is not in the message')
  t.match(await client.waitClosed(), { code: 1011 }, 'so a client keeps its token and tries again later')
})
