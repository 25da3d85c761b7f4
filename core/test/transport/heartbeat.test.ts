import t from 'tap'
import { TestClient } from '../../src/testing/test-client.js'
import { nextDisconnects } from '../helpers/events.js'
import { startTestServer } from '../../src/testing/test-server.js'

t.test('heartbeat › the server pings every heartbeatMs', async t => {
  const server = await startTestServer({ heartbeatMs: 50 })
  t.teardown(() => server.close())
  const client = await server.connect('alice')
  await new Promise<void>(resolve => client.socket.once('ping', () => resolve()))
  t.pass('ping received')
  await client.close()
})

t.test('heartbeat › a peer that answers no ping and sends nothing is closed (4002) or terminated', async t => {
  const server = await startTestServer({ heartbeatMs: 50 })
  t.teardown(() => server.close())
  const disconnected = nextDisconnects(server.switchboard)
  const silent = await server.connect('alice', { ws: { autoPong: false } })
  const { code } = await silent.waitClosed()
  t.ok(code === 4002 || code === 1006, `closed with ${code}`)
  t.match(await disconnected, [{ reason: 'heartbeat-timeout' }])
  t.equal(server.switchboard.connectionCount, 0)
})

t.test('heartbeat › a peer that answers pings stays connected', async t => {
  const server = await startTestServer({ heartbeatMs: 40 })
  t.teardown(() => server.close())
  const client = await server.connect('alice')
  let pings = 0
  // Six intervals: three times what it takes to be reaped if pongs were not counted.
  await new Promise<void>(resolve =>
    client.socket.on('ping', () => {
      if (++pings === 6) resolve()
    }),
  )
  t.equal(server.switchboard.connectionCount, 1)
  t.match(await client.request({ type: 'ping' }), { type: 'pong' })
  await client.close()
})

t.test('heartbeat › frames count as life even without pongs', async t => {
  const server = await startTestServer({ heartbeatMs: 40 })
  t.teardown(() => server.close())
  const client = await server.connect('alice', { ws: { autoPong: false } })
  let pings = 0
  await new Promise<void>(resolve =>
    client.socket.on('ping', () => {
      client.send({ type: 'ping', id: 1000 + pings })
      if (++pings === 6) resolve()
    }),
  )
  t.equal(server.switchboard.connectionCount, 1)
  await client.close()
})

t.test('heartbeat › app-level ping is answered with pong and the same id', async t => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const client = await server.connect('alice')
  t.same(await client.request({ type: 'ping', id: 77 }), { type: 'pong', id: 77 })
  await client.close()
})

t.test('heartbeat › a connection that never authenticates is bounded by authTimeoutMs, not the heartbeat', async t => {
  const server = await startTestServer({ heartbeatMs: 60_000, authTimeoutMs: 80 })
  t.teardown(() => server.close())
  const client = await TestClient.open(server.url)
  t.match(await client.waitClosed(), { code: 4009 })
})
