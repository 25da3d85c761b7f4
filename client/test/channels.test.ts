import t from 'tap'
import { createClient, type SwitchboardClient, type ClientErrorEvent, type PresenceEvent, type SubscribedEvent } from '../src/node.js'
import { msgpackCodec } from '../src/msgpack.js'
import type { TestChannels } from './helpers/channels.js'
import { startNode, token } from './helpers/node.js'
import { spySockets } from './helpers/spy-socket.js'
import { connected, Inbox, range, within } from './helpers/wait.js'

const node = await startNode()
t.teardown(() => node.close())

function client(user: string, extra: object = {}) {
  const c = createClient<TestChannels>({ url: node.url, getToken: () => token(user), ...extra })
  t.teardown(() => c.close())
  return c
}

t.test('channels › history pages backwards, oldest first, and waits for a connection', async t => {
  const bob = client('bob')
  const out = bob.channel('room:history')
  const early = out.history({ limit: 3 })
  bob.connect()
  t.same(await early, [], 'asked before connect, answered once connected')
  for (const i of range(7)) await out.publish({ text: `h${i}` })
  const latest = await out.history({ limit: 3 })
  t.same(latest.map(m => m.seq), [5, 6, 7])
  t.same(latest.map(m => m.data.text), ['h5', 'h6', 'h7'])
  t.match(latest[0], { channel: 'room:history', from: 'bob', epoch: String, mid: String, ts: Number })
  t.same((await out.history({ before: 5, limit: 3 })).map(m => m.seq), [2, 3, 4])
  t.same(await client('carol', { requestTimeoutMs: 50 }).channel('room:history').history().catch(e => e.code), 'REQUEST_TIMEOUT', 'never connected: times out')
  t.same(await bob.channel('typing:x').history(), [], 'channels that are not persisted have no history')
})

t.test('channels › presence and join/leave events', async t => {
  const alice = client('alice')
  const bob = client('bob')
  alice.connect()
  bob.connect()
  const room = alice.channel('room:presence')
  const joins: PresenceEvent[] = []
  const leaves: PresenceEvent[] = []
  let joined!: () => void
  let left!: () => void
  const bobJoined = new Promise<void>(resolve => (joined = resolve))
  const bobLeft = new Promise<void>(resolve => (left = resolve))
  room.on('join', e => {
    joins.push(e)
    if (e.user === 'bob') joined()
  })
  room.on('leave', e => {
    leaves.push(e)
    left()
  })
  await room.subscribe()
  await bob.channel('room:presence').subscribe()
  await within(bobJoined, 5000, 'bob’s join')
  t.same(joins, [{ channel: 'room:presence', user: 'alice' }, { channel: 'room:presence', user: 'bob' }])
  t.same((await room.presence()).sort((a, b) => a.user.localeCompare(b.user)), [
    { user: 'alice', connections: 1 },
    { user: 'bob', connections: 1 },
  ])
  await bob.channel('room:presence').unsubscribe()
  await within(bobLeft, 5000, 'bob’s leave')
  t.same(leaves, [{ channel: 'room:presence', user: 'bob' }])
  await t.rejects(alice.channel('typing:p').presence(), { code: 'FORBIDDEN' }, 'presence off on that channel')
})

t.test('channels › subscribe: before connect, refused, and the subscribed event', async t => {
  const alice = client('alice')
  const room = alice.channel('room:sub')
  const events: SubscribedEvent[] = []
  room.on('subscribed', e => events.push(e))
  const subscribing = room.subscribe()
  t.equal(room.state, 'subscribing')
  alice.connect()
  const event = await subscribing
  t.match(event, { channel: 'room:sub', recovered: false, resumed: false, seq: 0, epoch: String })
  t.same(events, [event])
  t.equal(room.state, 'subscribed')
  t.equal(alice.channel('room:sub'), room, 'one handle per name')
  t.same(await room.subscribe(), event, 'subscribing again resolves at once')
  const locked = alice.channel('locked:1')
  await t.rejects(locked.subscribe(), { code: 'FORBIDDEN' })
  t.equal(locked.state, 'unsubscribed')
  await t.rejects((alice as unknown as SwitchboardClient).channel('nowhere:1').subscribe(), { code: 'UNKNOWN_CHANNEL' }, 'an untyped name the server does not know')
  await t.rejects(alice.channel('inbox:bob').subscribe(), { code: 'FORBIDDEN' }, 'someone else’s inbox')
})

t.test('channels › unsubscribe stops delivery; subscribing again starts afresh', async t => {
  const alice = client('alice')
  const bob = client('bob')
  alice.connect()
  bob.connect()
  const room = alice.channel('room:unsub')
  const inbox = new Inbox(room)
  await room.subscribe()
  await bob.channel('room:unsub').publish({ text: 'one' })
  await inbox.waitFor(1)
  await room.unsubscribe()
  t.equal(room.state, 'unsubscribed')
  await bob.channel('room:unsub').publish({ text: 'missed' })
  const again = await room.subscribe()
  t.match(again, { recovered: false, seq: 2 })
  await bob.channel('room:unsub').publish({ text: 'three' })
  await inbox.waitFor(2)
  t.same(inbox.messages.map(m => m.data), [{ text: 'one' }, { text: 'three' }])
  const overtaken = t.rejects(alice.channel('room:unsub2').subscribe(), { code: 'NOT_SUBSCRIBED' }, 'a subscribe overtaken by unsubscribe rejects')
  await alice.channel('room:unsub2').unsubscribe()
  await overtaken
})

t.test('channels › handlers: async ones run one at a time in order; a throwing one is reported, delivery goes on', async t => {
  const alice = client('alice')
  const bob = client('bob')
  alice.connect()
  bob.connect()
  const room = alice.channel('room:handlers')
  const errors: ClientErrorEvent[] = []
  alice.on('error', e => errors.push(e))
  const log: string[] = []
  room.on('message', async m => {
    log.push(`start ${m.seq}`)
    await new Promise(resolve => setImmediate(resolve))
    log.push(`end ${m.seq}`)
    if (m.seq === 2) throw new Error('handler failed')
  })
  const inbox = new Inbox(room)
  await room.subscribe()
  await Promise.all(range(3).map(i => bob.channel('room:handlers').publish({ text: `x${i}` })))
  await inbox.waitFor(3)
  await room.idle()
  t.same(log, ['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3'])
  t.equal(errors.length, 1)
  t.match(errors[0], { channel: 'room:handlers', seq: 2, error: { message: 'handler failed' } })
})

t.test('channels › ephemeral channels and volatile publishes', async t => {
  const alice = client('alice')
  const bob = client('bob')
  alice.connect()
  bob.connect()
  const typing = alice.channel('typing:lobby')
  const inbox = new Inbox(typing)
  await typing.subscribe()
  await connected(bob)
  await bob.channel('typing:lobby').publish({ typing: true }, { volatile: true })
  await bob.channel('typing:lobby').publish({ typing: false }, { volatile: true })
  await inbox.waitFor(2)
  t.same(inbox.messages.map(m => [m.seq, m.data.typing]), [[1, true], [2, false]])
})

t.test('channels › the msgpack codec speaks switchboard.v1.msgpack', async t => {
  const alice = client('alice', { codec: msgpackCodec })
  const bob = client('bob')
  alice.connect()
  bob.connect()
  const room = alice.channel('room:msgpack')
  const inbox = new Inbox(room)
  await room.subscribe()
  await bob.channel('room:msgpack').publish({ text: 'from json' })
  t.match(await room.publish({ text: 'from msgpack ✓' }), { seq: 2 })
  await inbox.waitFor(2)
  t.same(inbox.messages.map(m => m.data.text), ['from json', 'from msgpack ✓'])
  // Fields set to undefined are left out, as in JSON (nil would be refused: `n` is an optional integer, `before` an optional seq).
  t.match(await room.publish({ text: 'undefined n', n: undefined }), { seq: 3 }, 'an undefined field in data')
  t.same((await room.history({ before: undefined, limit: 2 })).map(m => m.seq), [2, 3], 'an undefined option of history')
})

t.test('channels › subscribing from a connected listener sends one subscribe, not two', async t => {
  const spy = spySockets()
  const alice = client('alice', { WebSocket: spy.WebSocket })
  const subscribed = new Promise<unknown>(resolve => alice.on('connected', () => resolve(alice.channel('room:listener').subscribe())))
  alice.connect()
  await subscribed
  await alice.channel('room:listener').history()
  t.equal(spy.received.filter(f => f.type === 'subscribed' && f['channel'] === 'room:listener').length, 1, 'one subscribed reply')
})
