import t from 'tap'
import { MemoryBroker } from '../../src/engines/memory/memory-broker.js'
import { FlakyPresence } from '../helpers/flaky-presence.js'
import { room } from '../channels/fixtures/test-channels.js'
import { startTestServer } from '../../src/testing/test-server.js'
import { TestClient } from '../../src/testing/test-client.js'

// A single node's part in the cluster, on the memory engines: readiness, disconnecting a user
// (the command loops back through the node's own broker), the per-user connection limit.

t.test('cluster member › readiness reports each check and turns false while draining', async t => {
  const server = await startTestServer({ channels: [room] })
  t.same(await server.switchboard.readiness(), { ready: true, checks: { accepting: true, broker: true, presence: true, store: true } })
  const closing = server.close()
  t.match(await server.switchboard.readiness(), { ready: false, checks: { accepting: false } }, 'not ready once close() began')
  await closing
})

t.test('cluster member › disconnectUser closes every connection of that user with 4003 and no other', async t => {
  const server = await startTestServer({ channels: [room] })
  t.teardown(() => server.close())
  const [first, second, other] = [await server.connect('eve'), await server.connect('eve'), await server.connect('frank')]
  await server.switchboard.disconnectUser('eve')
  t.match(await first.waitClosed(), { code: 4003, reason: 'disconnected by the server' })
  t.match(await second.waitClosed(), { code: 4003 })
  t.equal((await other.request({ type: 'ping' })).type, 'pong', 'frank stays connected')
  await server.switchboard.disconnectUser('frank', { code: 4100, reason: 'maintenance' })
  t.match(await other.waitClosed(), { code: 4100, reason: 'maintenance' }, 'code and reason are the caller’s')
  await t.rejects(server.switchboard.disconnectUser('x', { code: 1000 }), { code: 'CONFIG_INVALID' }, 'codes outside 4000-4999 are refused')
  await t.rejects(server.switchboard.disconnectUser('x', { reason: 'é'.repeat(62) }), { code: 'CONFIG_INVALID' }, 'a reason over 123 bytes is refused')
})

t.test('cluster member › maxConnectionsPerUser refuses the next connect with TOO_MANY_CONNECTIONS and 4003', async t => {
  const disconnects: string[] = []
  const server = await startTestServer({
    channels: [room],
    maxConnectionsPerUser: 2,
    hooks: { onDisconnect: session => void disconnects.push(session.user) },
  })
  t.teardown(() => server.close())
  const first = await server.connect('gina')
  await server.connect('gina')
  const third = await TestClient.open(server.url)
  const reply = await third.request({ type: 'connect', token: await server.token('gina') })
  t.match(reply, { type: 'error', code: 'TOO_MANY_CONNECTIONS' })
  t.match(await third.waitClosed(), { code: 4003 })
  // The node forgets the socket on its own `close` event, which may come just after the client's.
  while (server.switchboard.connectionCount !== 2) await new Promise(resolve => setTimeout(resolve, 10))
  t.pass('the refused connection is gone')
  t.same(disconnects, [], 'a refused connection runs no onDisconnect (it never ran onConnect)')
  await first.close()
  // The node's cleanup of the closed connection releases its slot; wait for the hook that ends it.
  while (!disconnects.includes('gina')) await new Promise(resolve => setTimeout(resolve, 10))
  const again = await server.connect('gina')
  t.equal((await again.request({ type: 'ping' })).type, 'pong', 'a freed slot admits a new connection')
})

t.test('cluster member › nodes() lists this node with its connections', async t => {
  const server = await startTestServer({ nodeId: 'solo', nodeReportMs: 20 })
  t.teardown(() => server.close())
  await server.connect('hana')
  let nodes = await server.switchboard.nodes()
  while (nodes[0]?.connections !== 1) {
    await new Promise(resolve => setTimeout(resolve, 20))
    nodes = await server.switchboard.nodes()
  }
  t.match(nodes, [{ id: 'solo', connections: 1 }])
})

t.test('cluster member › disconnectUser while the broker is down closes here and rejects INTERNAL, so the caller retries', async t => {
  /** A memory broker that says it is not live, as the Redis broker does while its connection is down. */
  class DownBroker extends MemoryBroker {
    down = false
    get ready(): boolean {
      return !this.down
    }
  }
  const broker = new DownBroker()
  const server = await startTestServer({ channels: [room], engines: { broker } })
  t.teardown(() => server.close())
  const eve = await server.connect('eve')
  broker.down = true
  await t.rejects(server.switchboard.disconnectUser('eve'), { code: 'INTERNAL', message: /other nodes may not have received/ })
  t.match(await eve.waitClosed(), { code: 4003 }, 'this node applied it')
  broker.down = false
  await server.switchboard.disconnectUser('eve')
})

t.test('cluster member › a connection whose release failed (presence unreachable) is removed later, not counted against the user for good', async t => {
  const presence = new FlakyPresence()
  let disconnected!: () => void
  const gone = new Promise<void>(resolve => (disconnected = resolve))
  const server = await startTestServer({ channels: [room], engines: { presence }, maxConnectionsPerUser: 1, hooks: { onDisconnect: () => disconnected() } })
  t.teardown(() => server.close())
  const first = await server.connect('gina')
  presence.failRemoves = 1
  await first.close()
  await gone
  const again = await server.connect('gina')
  t.equal((await again.request({ type: 'ping' })).type, 'pong', 'the slot of the closed connection was freed on the next connect')
})
