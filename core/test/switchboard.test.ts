import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createSwitchboard } from '../src/switchboard.js'
import { silentLogger } from '../src/observability/logger.js'
import { TestClient } from '../src/testing/test-client.js'
import { signDevToken } from '../src/auth/token-verifier.js'

const secret = 'handles-secret'

/** Active libuv resources by type, ignoring the ones tap and stdio keep. */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1
  return counts
}

t.test('createSwitchboard › listen, serve, close: no handles stay open', async t => {
  const before = resources()
  const switchboard = createSwitchboard({ logger: silentLogger(), jwt: { secret }, heartbeatMs: 1000 })
  const { port } = await switchboard.listen(0, '127.0.0.1')
  const clients = await Promise.all(
    ['a', 'b', 'c'].map(async user => (await TestClient.connect(`ws://127.0.0.1:${port}/ws`, await signDevToken(secret, user))).client),
  )
  const pending = await TestClient.open(`ws://127.0.0.1:${port}/ws`)
  t.equal(switchboard.connectionCount, 4)
  await switchboard.close()
  await Promise.all([...clients, pending].map(c => c.waitClosed()))
  await switchboard.close()
  // Sockets close in the next turns of the loop; wait for them without a timer of our own.
  for (let i = 0; i < 100 && JSON.stringify(resources()) !== JSON.stringify(before); i++) {
    await new Promise(resolve => setImmediate(resolve))
  }
  t.same(resources(), before, 'the same active resources as before the server existed')
})

t.test('createSwitchboard › attach to an existing server; close leaves that server running', async t => {
  const http = createServer((_req, res) => res.end('app'))
  await new Promise<void>(resolve => http.listen(0, '127.0.0.1', resolve))
  const port = (http.address() as AddressInfo).port
  const switchboard = createSwitchboard({ logger: silentLogger(), jwt: { secret } })
  switchboard.attach(http)
  const { client, connected } = await TestClient.connect(`ws://127.0.0.1:${port}/ws`, await signDevToken(secret, 'alice'))
  t.equal(connected.user, 'alice')
  await switchboard.close()
  t.match(await client.waitClosed(), { code: 1001 })
  t.equal(http.listening, true)
  const body = await (await fetch(`http://127.0.0.1:${port}/`)).text()
  t.equal(body, 'app')
  http.closeAllConnections()
  await new Promise<void>(resolve => http.close(() => resolve()))
})

t.test('createSwitchboard › bad options fail at creation with CONFIG_INVALID', async t => {
  t.throws(() => createSwitchboard({ logger: silentLogger(), heartbeatMs: -5, jwt: { secret } }), {
    code: 'CONFIG_INVALID',
    message: /heartbeatMs: got -5, expected a positive integer/,
  })
  t.throws(() => createSwitchboard({ logger: silentLogger() }), { code: 'CONFIG_INVALID' }, 'no way to verify tokens')
})

t.test('createSwitchboard › a custom authenticate replaces JWT verification', async t => {
  const switchboard = createSwitchboard({
    logger: silentLogger(),
    authenticate: async token => ({ user: token.toUpperCase(), exp: Math.floor(Date.now() / 1000) + 60, claims: {} }),
  })
  const { port } = await switchboard.listen()
  t.teardown(() => switchboard.close())
  const { client, connected } = await TestClient.connect(`ws://127.0.0.1:${port}/ws`, 'carol')
  t.equal(connected.user, 'CAROL')
  await client.close()
})
