import t from 'tap'
import { startTestServer } from '../../src/testing/test-server.js'
import { room } from './fixtures/test-channels.js'
import { FlakyPresence } from '../helpers/flaky-presence.js'

t.test('presence › a removal that failed is tried again: the user leaves, announced, instead of staying present', async t => {
  const presence = new FlakyPresence()
  const server = await startTestServer({ channels: [room], engines: { presence }, redeliveryRebuildMs: 50 })
  t.teardown(() => server.close())
  const bob = await server.connect('bob')
  await bob.request({ type: 'subscribe', channel: 'room:a' })
  const alice = await server.connect('alice')
  await alice.request({ type: 'subscribe', channel: 'room:a' })
  await bob.next(f => f.type === 'join' && f.user === 'alice', 'alice joins', true)
  presence.failRemoves = 1
  t.match(await alice.request({ type: 'unsubscribe', channel: 'room:a' }), { type: 'unsubscribed' }, 'the unsubscribe itself succeeds')
  await bob.next(f => f.type === 'leave' && f.user === 'alice', 'alice leaves, once the removal went through', true)
  t.same(await presence.members('room:a'), [{ user: 'bob', connections: 1 }])
})

t.test('presence › a failed removal is dropped when the connection subscribed again meanwhile', async t => {
  const presence = new FlakyPresence()
  const server = await startTestServer({ channels: [room], engines: { presence }, redeliveryRebuildMs: 50 })
  t.teardown(() => server.close())
  const alice = await server.connect('alice')
  await alice.request({ type: 'subscribe', channel: 'room:a' })
  presence.failRemoves = 1
  await alice.request({ type: 'unsubscribe', channel: 'room:a' })
  await alice.request({ type: 'subscribe', channel: 'room:a' })
  // Two retry periods: had the removal been retried, alice would be gone.
  const members = async (): Promise<unknown> => presence.members('room:a')
  await new Promise(resolve => setTimeout(resolve, 150))
  t.same(await members(), [{ user: 'alice', connections: 1 }], 'still present: she subscribed again')
})
