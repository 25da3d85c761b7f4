import t from 'tap'
import type { AnyFrame, TestClient } from '@switchboard/core/testing'
import { appHarness, type AppNode } from './helpers/app-harness.js'

/**
 * EXAMPLE-APP.md's channel table, rows `room:{roomId}` and `typing:{roomId}`, and the `@name`
 * mention notification, over real WebSocket connections to the app as main.ts builds it, on
 * the real PostgreSQL (a schema of this file) and Redis (a prefix of this file).
 */

const harness = appHarness(t)
const node = await harness.startNode()

/** Creates a room through the HTTP API as `owner`; resolves with its id. */
async function createRoom(owner: string, members: string[], on: AppNode = node): Promise<string> {
  const answer = await harness.http(on, 'POST', '/api/rooms', { token: await harness.token(owner), body: { name: 'Test room', members } })
  if (answer.status !== 201) throw new Error(`room not created: ${answer.text}`)
  return answer.body.room.id as string
}

const messagesOf = (client: TestClient, channel: string, seq: number): AnyFrame[] =>
  client.frames.filter(frame => frame.type === 'message' && frame.channel === channel && frame.seq === seq)

const roomId = await createRoom('alice', ['bob'])
const room = `room:${roomId}`

t.test('room › members subscribe and publish; each subscriber gets the message once (broadcast)', async t => {
  const alice = await node.connect('alice')
  const bob = await node.connect('bob')
  t.teardown(() => Promise.all([alice.close(), bob.close()]))
  t.match(await alice.request({ type: 'subscribe', channel: room }), { type: 'subscribed', channel: room, recovered: false })
  t.match(await bob.request({ type: 'subscribe', channel: room }), { type: 'subscribed', channel: room })
  const toAlice = alice.next(frame => frame.type === 'message' && frame.channel === room)
  const toBob = bob.next(frame => frame.type === 'message' && frame.channel === room)
  const first = await bob.request({ type: 'publish', channel: room, data: { text: 'hello room' } })
  const seq = first.seq as number
  t.match(first, { type: 'published', channel: room, seq: 1, mid: /^[0-9a-f-]{36}$/ })
  const expected = { type: 'message', channel: room, seq: first.seq, mid: first.mid, from: 'bob', data: { text: 'hello room' } }
  t.match(await toAlice, expected)
  t.match(await toBob, expected, 'the publisher, subscribed too, gets it as well')
  // A reply to it: replyTo is a mid. Once it arrived, the first one can no longer arrive twice.
  const replyArrived = alice.next(frame => frame.type === 'message' && frame.seq === seq + 1)
  t.match(await alice.request({ type: 'publish', channel: room, data: { text: 'hi bob', replyTo: first.mid } }), { type: 'published' })
  t.match(await replyArrived, { from: 'alice', data: { text: 'hi bob', replyTo: first.mid } })
  t.equal(messagesOf(alice, room, seq).length, 1, 'alice got the first message exactly once')
})

t.test('room › non-members are FORBIDDEN; membership is read from PostgreSQL (room_members)', async t => {
  const mallory = await node.connect('mallory')
  t.teardown(() => mallory.close())
  for (const frame of [
    { type: 'subscribe', channel: room },
    { type: 'publish', channel: room, data: { text: 'let me in' } },
    { type: 'history', channel: room },
    { type: 'presence', channel: room },
  ]) {
    t.match(await mallory.request(frame), { type: 'error', code: 'FORBIDDEN' }, `${frame.type} is FORBIDDEN`)
  }
  await harness.sql('INSERT INTO room_members (room_id, user_id) VALUES ($1, $2)', [roomId, 'mallory'])
  t.teardown(() => harness.sql('DELETE FROM room_members WHERE room_id = $1 AND user_id = $2', [roomId, 'mallory']))
  t.match(await mallory.request({ type: 'subscribe', channel: room }), { type: 'subscribed', channel: room }, 'a row in room_members lets her in')
  t.match(await mallory.request({ type: 'publish', channel: room, data: { text: 'thanks' } }), { type: 'published' })
})

t.test('room › room:lobby: everyone subscribes and publishes, without a membership row', async t => {
  const { rows } = await harness.sql('SELECT count(*)::int AS n FROM room_members WHERE room_id = $1', ['lobby'])
  t.equal(rows[0].n, 0, 'nobody is a member of the lobby')
  const carol = await node.connect('carol')
  const dave = await node.connect('dave')
  t.teardown(() => Promise.all([carol.close(), dave.close()]))
  t.match(await carol.request({ type: 'subscribe', channel: 'room:lobby' }), { type: 'subscribed', channel: 'room:lobby' })
  const received = carol.next(frame => frame.type === 'message' && frame.channel === 'room:lobby' && frame.from === 'dave')
  t.match(await dave.request({ type: 'publish', channel: 'room:lobby', data: { text: 'hello lobby' } }), { type: 'published', channel: 'room:lobby' })
  t.match(await received, { data: { text: 'hello lobby' } })
})

t.test('room › data: text 1..4000, optional replyTo (a mid), nothing else', async t => {
  const alice = await node.connect('alice')
  t.teardown(() => alice.close())
  const refused: [string, unknown, string][] = [
    ['empty text', { text: '' }, 'text'],
    ['text of 4001 characters', { text: 'x'.repeat(4001) }, 'text'],
    ['text not a string', { text: 42 }, 'text'],
    ['no text', { replyTo: '0b7e5c1a-3f2d-4c8e-9a6b-1d2e3f4a5b6c' }, 'text'],
    ['replyTo not a mid', { text: 'hi', replyTo: 'seq-1' }, 'replyTo'],
    ['an unknown field', { text: 'hi', html: '<b>hi</b>' }, ''],
    ['not an object', 'hi', ''],
  ]
  for (const [why, data, path] of refused) {
    const reply = await alice.request({ type: 'publish', channel: room, data })
    t.match(reply, { type: 'error', code: 'VALIDATION', details: [{ path }] }, why)
  }
  t.match(await alice.request({ type: 'publish', channel: room, data: { text: 'x'.repeat(4000) } }), { type: 'published' }, '4000 characters pass')
  t.match(await alice.request({ type: 'publish', channel: room, data: { text: 'x' } }), { type: 'published' }, '1 character passes')
})

t.test('room › persisted: history, since recovery, rows in PostgreSQL', async t => {
  const id = await createRoom('alice', [])
  const channel = `room:${id}`
  const alice = await node.connect('alice')
  t.teardown(() => alice.close())
  const seqs: number[] = []
  for (const text of ['one', 'two', 'three']) seqs.push((await alice.request({ type: 'publish', channel, data: { text } })).seq as number)
  t.same(seqs, [1, 2, 3])
  const history = await alice.request({ type: 'history', channel, limit: 2 })
  t.match(history.messages, [{ seq: 2, data: { text: 'two' } }, { seq: 3, data: { text: 'three' } }], 'history: the latest, oldest first')
  const { rows } = await harness.sql('SELECT seq::int, data FROM messages WHERE channel = $1 ORDER BY seq', [channel])
  t.same(rows, [{ seq: 1, data: { text: 'one' } }, { seq: 2, data: { text: 'two' } }, { seq: 3, data: { text: 'three' } }], 'stored in the messages table')
  const sub = await alice.request({ type: 'subscribe', channel })
  const again = await node.connect('alice')
  t.teardown(() => again.close())
  const replayed = again.next(frame => frame.type === 'message' && frame.seq === 3)
  t.match(await again.request({ type: 'subscribe', channel, since: { epoch: sub.epoch, seq: 2 } }), { type: 'subscribed', recovered: true, seq: 3 })
  t.match(await replayed, { seq: 3, data: { text: 'three' } }, 'since replays what came after it')
  t.equal(again.frames.filter(frame => frame.type === 'message').length, 1, 'and only that')
})

t.test('room › presence: join, the presence list, leave', async t => {
  const id = await createRoom('alice', ['bob'])
  const channel = `room:${id}`
  const alice = await node.connect('alice')
  const bob = await node.connect('bob')
  t.teardown(() => alice.close())
  await alice.request({ type: 'subscribe', channel })
  const joined = alice.next(frame => frame.type === 'join' && frame.user === 'bob')
  await bob.request({ type: 'subscribe', channel })
  t.match(await joined, { type: 'join', channel, user: 'bob' })
  t.match(await alice.request({ type: 'presence', channel }), {
    type: 'presence',
    members: [
      { user: 'alice', connections: 1 },
      { user: 'bob', connections: 1 },
    ],
  })
  const left = alice.next(frame => frame.type === 'leave' && frame.user === 'bob')
  await bob.close()
  t.match(await left, { type: 'leave', channel, user: 'bob' })
  t.match(await alice.request({ type: 'presence', channel }), { members: [{ user: 'alice', connections: 1 }] })
})

t.test('typing › members broadcast { typing: boolean }; not persisted; no presence', async t => {
  const alice = await node.connect('alice')
  const bob = await node.connect('bob')
  const mallory = await node.connect('mallory')
  t.teardown(() => Promise.all([alice.close(), bob.close(), mallory.close()]))
  const channel = `typing:${roomId}`
  const sub = await alice.request({ type: 'subscribe', channel })
  t.match(sub, { type: 'subscribed', channel })
  const received = alice.next(frame => frame.type === 'message' && frame.channel === channel)
  const published = await bob.request({ type: 'publish', channel, data: { typing: true } })
  t.match(published, { type: 'published', channel })
  t.match(await received, { from: 'bob', data: { typing: true }, seq: published.seq })
  t.match(await bob.request({ type: 'publish', channel, data: { typing: 'yes' } }), { type: 'error', code: 'VALIDATION', details: [{ path: 'typing' }] })
  t.match(await bob.request({ type: 'publish', channel, data: { typing: true, text: 'x' } }), { type: 'error', code: 'VALIDATION' })
  t.match(await mallory.request({ type: 'subscribe', channel }), { type: 'error', code: 'FORBIDDEN' }, 'non-members may not subscribe')
  t.match(await mallory.request({ type: 'publish', channel, data: { typing: true } }), { type: 'error', code: 'FORBIDDEN' }, 'nor publish')
  t.match(await mallory.request({ type: 'publish', channel: 'typing:lobby', data: { typing: false } }), { type: 'published' }, 'typing:lobby is open')
  t.same((await alice.request({ type: 'history', channel })).messages, [], 'no history')
  const { rows } = await harness.sql('SELECT count(*)::int AS n FROM messages WHERE channel LIKE $1', ['typing:%'])
  t.equal(rows[0].n, 0, 'nothing stored in PostgreSQL')
  const again = await node.connect('alice')
  t.teardown(() => again.close())
  t.match(await again.request({ type: 'subscribe', channel, since: { epoch: sub.epoch, seq: 0 } }), { recovered: false }, 'since never recovers')
  t.match(await alice.request({ type: 'presence', channel }), { type: 'error', code: 'FORBIDDEN', message: /Presence is not enabled/ })
})

t.test('mention › "@name" in a room sends name { kind: "mention", room, mid, from, text } on user:name, from system', async t => {
  const bob = await node.connect('bob')
  const alice = await node.connect('alice')
  t.teardown(() => Promise.all([alice.close(), bob.close()]))
  await bob.request({ type: 'subscribe', channel: 'user:bob' })
  const mention = bob.next(frame => frame.type === 'message' && frame.channel === 'user:bob')
  // mallory is no member (she may not read it), alice is the author; names are handled in order, so
  // once bob's arrives, theirs were decided.
  const text = 'hey @mallory and @bob, see @alice (mail: bob@example.com)'
  const published = await alice.request({ type: 'publish', channel: room, data: { text } })
  t.match(await mention, {
    channel: 'user:bob',
    from: 'system',
    data: { kind: 'mention', room: roomId, mid: published.mid, from: 'alice', text },
  })
  for (const user of ['mallory', 'alice']) {
    const { rows } = await harness.sql('SELECT count(*)::int AS n FROM messages WHERE channel = $1', [`user:${user}`])
    t.equal(rows[0].n, 0, `no notification for ${user}`)
  }
})

t.test('mention › in the lobby anyone may be mentioned; offline users get it on their next subscribe (at-least-once inbox)', async t => {
  const dave = await node.connect('dave')
  t.teardown(() => dave.close())
  const published = await dave.request({ type: 'publish', channel: 'room:lobby', data: { text: '@erin welcome' } })
  t.match(published, { type: 'published' })
  // erin has never connected: the notification waits in her inbox's stream.
  const erin = await node.connect('erin')
  t.teardown(() => erin.close())
  const replayed = erin.next(frame => frame.type === 'message' && frame.channel === 'user:erin')
  t.match(await erin.request({ type: 'subscribe', channel: 'user:erin' }), { type: 'subscribed', channel: 'user:erin' })
  t.match(await replayed, { from: 'system', data: { kind: 'mention', room: 'lobby', mid: published.mid, from: 'dave', text: '@erin welcome' } })
})

t.test('mention › a repeated publish (same idempotency key) notifies nobody again', async t => {
  const alice = await node.connect('alice')
  const bob = await node.connect('bob')
  t.teardown(() => Promise.all([alice.close(), bob.close()]))
  const { rows: before } = await harness.sql('SELECT count(*)::int AS n FROM messages WHERE channel = $1', ['user:bob'])
  await bob.request({ type: 'subscribe', channel: 'user:bob', since: { epoch: 'none', seq: 0 } })
  const first = await alice.request({ type: 'publish', channel: room, data: { text: '@bob once' }, key: 'k-once' })
  const repeat = await alice.request({ type: 'publish', channel: room, data: { text: '@bob once' }, key: 'k-once' })
  t.equal(repeat.mid, first.mid, 'the repeat answers the first message')
  const later = bob.next(frame => frame.type === 'message' && frame.channel === 'user:bob' && (frame.data as { text?: string }).text === '@bob later')
  await alice.request({ type: 'publish', channel: room, data: { text: '@bob later' } })
  await later
  const notes = bob.frames.filter(frame => frame.type === 'message' && frame.channel === 'user:bob').map(frame => (frame.data as { mid: string }).mid)
  t.equal(notes.filter(mid => mid === first.mid).length, 1, 'one notification for the repeated message')
  const { rows: after } = await harness.sql('SELECT count(*)::int AS n FROM messages WHERE channel = $1', ['user:bob'])
  t.equal(after[0].n - before[0].n, 2, 'two notifications stored: the first message and the later one')
})

t.test('two nodes › one service: messages, presence and mentions cross nodes', async t => {
  const other = await harness.startNode()
  const alice = await node.connect('alice')
  const bob = await other.connect('bob')
  t.teardown(() => Promise.all([alice.close(), bob.close()]))
  const id = await createRoom('bob', ['alice'], other)
  const channel = `room:${id}`
  await alice.request({ type: 'subscribe', channel })
  await alice.request({ type: 'subscribe', channel: 'user:alice', since: { epoch: 'none', seq: 0 } })
  const joined = alice.next(frame => frame.type === 'join' && frame.user === 'bob')
  await bob.request({ type: 'subscribe', channel })
  t.match(await joined, { channel, user: 'bob' }, 'join crosses nodes')
  const message = alice.next(frame => frame.type === 'message' && frame.channel === channel)
  const mention = alice.next(frame => frame.type === 'message' && frame.channel === 'user:alice')
  const published = await bob.request({ type: 'publish', channel, data: { text: 'from node 2, @alice' } })
  t.match(await message, { seq: published.seq, from: 'bob' }, 'a message published on node 2 reaches node 1')
  t.match(await mention, { data: { kind: 'mention', room: id, mid: published.mid, from: 'bob' } }, 'and so does its mention')
})
