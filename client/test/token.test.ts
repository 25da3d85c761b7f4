import t from 'tap'
import { createClient, tokenExpiry, type ClientErrorEvent } from '../src/node.js'
import { refreshDelay } from '../src/token.js'
import { createJwtVerifier, SwitchboardError } from '@switchboard/core'
import { TEST_JWT_SECRET } from '@switchboard/core/testing'
import { startNode, token } from './helpers/node.js'
import { spySockets } from './helpers/spy-socket.js'
import { nextState, within } from './helpers/wait.js'

t.test('token › tokenExpiry reads exp from the payload without verifying', async t => {
  const signed = await token('alice', 120)
  const exp = tokenExpiry(signed)!
  t.ok(Math.abs(exp - (Date.now() / 1000 + 120)) < 3, 'exp is about two minutes from now')
  const unicode = ['x', Buffer.from(JSON.stringify({ sub: 'zoë ✓', exp: 42 })).toString('base64url'), 'sig'].join('.')
  t.equal(tokenExpiry(unicode), 42)
  for (const junk of ['', 'abc', 'a.b.c', 'a.e30.c' /* {} */, `a.${Buffer.from('{"exp":"soon"}').toString('base64url')}.c`]) {
    t.equal(tokenExpiry(junk), undefined, JSON.stringify(junk))
  }
})

t.test('token › refreshes 30 s before exp, or a fifth of what is left, never less than 1 s', async t => {
  const now = 1_000_000
  t.equal(refreshDelay(now + 3_600_000, now, 30_000), 3_570_000)
  t.equal(refreshDelay(now + 10_000, now, 30_000), 8_000)
  t.equal(refreshDelay(now + 3_000, now, 30_000), 2_000)
  t.equal(refreshDelay(now + 500, now, 30_000), 0)
  t.equal(refreshDelay(now - 500, now, 30_000), 0)
})

t.test('token › a short-lived token is refreshed before it expires and the connection stays up', async t => {
  const node = await startNode()
  t.teardown(() => node.close())
  const issued: string[] = []
  const spy = spySockets()
  let third!: () => void
  const thirdToken = new Promise<void>(resolve => (third = resolve))
  const client = createClient({
    url: node.url,
    WebSocket: spy.WebSocket,
    async getToken() {
      issued.push(await token('alice', 3))
      if (issued.length === 3) third()
      return issued.at(-1)!
    },
  })
  t.teardown(() => client.close())
  const errors: ClientErrorEvent[] = []
  client.on('error', e => errors.push(e))
  const states: string[] = []
  client.on('state', change => states.push(change.state))
  client.connect()
  await nextState(client, 'connected')
  const session = client.connection!.session
  // Tokens live 2–3 s: outliving two of them means two refreshes went through in time.
  await within(thirdToken, 15_000, 'the second refresh')
  await within(client.channel('room:r').publish({ text: 'still here' }), 5_000, 'a publish after the refreshes')
  t.same(states, ['connecting', 'connected'], 'never disconnected')
  t.equal(client.connection?.session, session, 'the same connection throughout')
  t.same(errors, [], 'no TOKEN_EXPIRED or other error')
  const refreshed = spy.received.filter(frame => frame.type === 'refreshed')
  t.ok(refreshed.length >= 2, `the server confirmed the refreshes (${refreshed.length})`)
  t.equal(refreshed[0]!['exp'], tokenExpiry(issued[1]!), 'with the new token’s exp')
})

t.test('token › a token valid for 60 days is not refreshed at once (past the longest timer delay)', async t => {
  const node = await startNode()
  t.teardown(() => node.close())
  let asked = 0
  const client = createClient({
    url: node.url,
    async getToken() {
      asked += 1
      return token('alice', 60 * 24 * 3600)
    },
  })
  t.teardown(() => client.close())
  client.connect()
  await nextState(client, 'connected')
  // A delay past 2^31 - 1 ms fires at once: the refresh would have asked again by the time these replies come back.
  await within(client.channel('room:long').publish({ text: 'one' }), 5_000, 'a publish')
  await new Promise(resolve => setTimeout(resolve, 50))
  await within(client.channel('room:long').publish({ text: 'two' }), 5_000, 'another publish')
  t.equal(asked, 1, 'getToken was asked once, to connect')
})

t.test('token › a refused token is not retried: no reconnect unless getToken yields a fresh one', async t => {
  const node = await startNode()
  t.teardown(() => node.close())
  const spy = spySockets()
  let calls = 0
  const client = createClient({ url: node.url, WebSocket: spy.WebSocket, getToken: () => (calls++, 'not-a-jwt'), reconnect: { minDelayMs: 10, maxDelayMs: 20 } })
  t.teardown(() => client.close())
  const refused = nextState(client, 'reconnecting')
  const stopped = nextState(client, 'disconnected')
  client.connect()
  const change = await refused
  t.equal(change.reason, 'unauthorized')
  t.equal(change.closeCode, 4001)
  t.equal(change.error?.code, 'UNAUTHORIZED', 'the server’s refusal is attached')
  const end = await stopped
  t.equal(end.reason, 'no-fresh-token')
  t.equal(end.error?.code, 'TOKEN_UNAVAILABLE')
  t.equal(spy.sockets.length, 1, 'no second socket for the same token')
  t.equal(calls, 2, 'getToken asked once more, then the client stopped')
})

t.test('token › after a refusal, a fresh token from getToken reconnects', async t => {
  const node = await startNode()
  t.teardown(() => node.close())
  const tokens = ['not-a-jwt', await token('alice')]
  const client = createClient({ url: node.url, getToken: () => tokens.shift() ?? null, reconnect: { minDelayMs: 10, maxDelayMs: 20 } })
  t.teardown(() => client.close())
  const seen: string[] = []
  client.on('state', c => seen.push(`${c.state}:${c.reason}`))
  client.connect()
  await nextState(client, 'connected')
  t.same(seen, ['connecting:connect', 'reconnecting:unauthorized', 'connecting:backoff-elapsed', 'connected:connected'])
  t.equal(client.connection?.user, 'alice')
})

t.test('token › getToken returning nothing stops the client; connect() asks again', async t => {
  const node = await startNode()
  t.teardown(() => node.close())
  let next: string | null = null
  const client = createClient({ url: node.url, getToken: () => next })
  t.teardown(() => client.close())
  const stopped = nextState(client, 'disconnected')
  client.connect()
  t.equal((await stopped).reason, 'no-fresh-token')
  next = await token('alice')
  const connected = nextState(client, 'connected')
  client.connect()
  await connected
})

t.test('token › getToken throwing is retried with backoff and reported', async t => {
  const node = await startNode()
  t.teardown(() => node.close())
  let calls = 0
  const client = createClient({
    url: node.url,
    reconnect: { minDelayMs: 10, maxDelayMs: 20 },
    getToken: async () => {
      if (++calls === 1) throw new Error('auth service down')
      return token('alice')
    },
  })
  t.teardown(() => client.close())
  const errors: ClientErrorEvent[] = []
  client.on('error', e => errors.push(e))
  const retrying = nextState(client, 'reconnecting')
  client.connect()
  t.equal((await retrying).reason, 'token-error')
  await nextState(client, 'connected')
  t.equal(errors.length, 1)
  t.match(errors[0]!.error, { code: 'TOKEN_UNAVAILABLE', cause: { message: 'auth service down' } })
})

t.test('token › an expired token that getToken cannot replace ends in 4001, then disconnected', async t => {
  const node = await startNode({ config: { tokenGraceMs: 200 } })
  t.teardown(() => node.close())
  const only = await token('alice', 2)
  const client = createClient({ url: node.url, getToken: () => only, reconnect: { minDelayMs: 10, maxDelayMs: 20 } })
  t.teardown(() => client.close())
  const errors: ClientErrorEvent[] = []
  client.on('error', e => errors.push(e))
  const seen: string[] = []
  client.on('state', c => seen.push(`${c.state}:${c.reason}${c.closeCode ? `:${c.closeCode}` : ''}`))
  const stopped = nextState(client, 'disconnected')
  client.connect()
  t.equal((await stopped).reason, 'no-fresh-token')
  t.same(seen, ['connecting:connect', 'connected:connected', 'reconnecting:unauthorized:4001', 'connecting:backoff-elapsed', 'disconnected:no-fresh-token'])
  t.ok(errors.some(e => (e.error as { code?: string }).code === 'TOKEN_EXPIRED'), 'the server’s TOKEN_EXPIRED was reported')
})

t.test('token › a token the server cannot check now (INTERNAL, close 1011) is used again after a backoff, not taken for refused', async t => {
  const verify = createJwtVerifier({ secret: TEST_JWT_SECRET })
  let checks = 0
  const node = await startNode({
    config: {
      // The identity provider's keys are unavailable for the first check only.
      authenticate: tokenText => (++checks === 1 ? Promise.reject(new SwitchboardError('INTERNAL', 'The token could not be verified now; try again.')) : verify(tokenText)),
    },
  })
  t.teardown(() => node.close())
  const cached = await token('alice')
  let asked = 0
  const client = createClient({ url: node.url, getToken: () => (asked++, cached), reconnect: { minDelayMs: 10, maxDelayMs: 20 } })
  t.teardown(() => client.close())
  const seen: string[] = []
  client.on('state', c => seen.push(`${c.state}:${c.reason}`))
  client.connect()
  await nextState(client, 'connected')
  t.same(seen, ['connecting:connect', 'reconnecting:socket-closed', 'connecting:backoff-elapsed', 'connected:connected'])
  t.equal(checks, 2, 'the same token was checked again')
  t.equal(asked, 2, 'getToken was asked at each attempt and gave the same token: it was not refused')
})
