import t from 'tap'
import type { TestClient } from '@switchboard/core/testing'
import { notifyMention } from '../src/notifications/mention/notification.js'
import { appHarness } from './helpers/app-harness.js'

/**
 * EXAMPLE-APP.md's channel table, rows `dm:{a}:{b}` and `user:{id}`: who may use them, their
 * data, at-least-once delivery (replay after the acked cursor, redelivery until acked) and
 * persistence, over real WebSocket connections to the app on the real PostgreSQL and Redis.
 */

/** First redelivery after this long without an ack (short, so the test sees one). */
const ACK_TIMEOUT_MS = 300

const harness = appHarness(t)
const node = await harness.startNode({ switchboard: { ackTimeoutMs: ACK_TIMEOUT_MS } })
const dm = 'dm:alice:bob'

const copies = (client: TestClient, channel: string, seq: number): number =>
  client.frames.filter(frame => frame.type === 'message' && frame.channel === channel && frame.seq === seq).length

t.test('dm › a and b subscribe and publish; others are FORBIDDEN', async t => {
  const alice = await node.connect('alice')
  const bob = await node.connect('bob')
  const mallory = await node.connect('mallory')
  t.teardown(() => Promise.all([alice.close(), bob.close(), mallory.close()]))
  t.match(await bob.request({ type: 'subscribe', channel: dm }), { type: 'subscribed', channel: dm })
  const received = bob.next(frame => frame.type === 'message' && frame.channel === dm)
  const published = await alice.request({ type: 'publish', channel: dm, data: { text: 'hi bob' } })
  t.match(published, { type: 'published', channel: dm })
  t.match(await received, { seq: published.seq, mid: published.mid, from: 'alice', data: { text: 'hi bob' } })
  for (const frame of [
    { type: 'subscribe', channel: dm },
    { type: 'publish', channel: dm, data: { text: 'psst' } },
    { type: 'history', channel: dm },
  ]) {
    t.match(await mallory.request(frame), { type: 'error', code: 'FORBIDDEN' }, `mallory: ${frame.type} is FORBIDDEN`)
  }
})

t.test('dm › a name not in canonical order (a < b) is FORBIDDEN and names the canonical channel', async t => {
  const alice = await node.connect('alice')
  t.teardown(() => alice.close())
  for (const type of ['subscribe', 'publish', 'history']) {
    const reply = await alice.request({ type, channel: 'dm:bob:alice', ...(type === 'publish' ? { data: { text: 'hi' } } : {}) })
    t.match(reply, { type: 'error', code: 'FORBIDDEN', message: /"dm:alice:bob"/ }, `${type} dm:bob:alice`)
  }
  t.match(await alice.request({ type: 'subscribe', channel: 'dm:alice:alice' }), { type: 'error', code: 'FORBIDDEN', message: /two different users/ })
})

t.test('dm › data: text 1..4000 and nothing else', async t => {
  const alice = await node.connect('alice')
  t.teardown(() => alice.close())
  for (const [why, data] of [
    ['empty', { text: '' }],
    ['4001 characters', { text: 'y'.repeat(4001) }],
    ['replyTo is not part of a DM', { text: 'hi', replyTo: '0b7e5c1a-3f2d-4c8e-9a6b-1d2e3f4a5b6c' }],
    ['no text', {}],
  ] as const) {
    t.match(await alice.request({ type: 'publish', channel: dm, data }), { type: 'error', code: 'VALIDATION' }, why)
  }
  t.match(await alice.request({ type: 'publish', channel: dm, data: { text: 'y'.repeat(4000) } }), { type: 'published' })
})

t.test('dm › at-least-once to the other: offline messages arrive on the next subscribe, after the acked cursor', async t => {
  const channel = 'dm:carol:dave'
  const carol = await node.connect('carol')
  t.teardown(() => carol.close())
  // dave is offline.
  const one = await carol.request({ type: 'publish', channel, data: { text: 'one' } })
  const two = await carol.request({ type: 'publish', channel, data: { text: 'two' } })
  const dave = await node.connect('dave')
  const secondArrived = dave.next(frame => frame.type === 'message' && frame.seq === two.seq)
  t.match(await dave.request({ type: 'subscribe', channel }), { type: 'subscribed', recovered: false })
  await secondArrived
  t.same(
    dave.frames.filter(frame => frame.type === 'message').map(frame => frame.data),
    [{ text: 'one' }, { text: 'two' }],
    'both replayed in order',
  )
  dave.send({ type: 'ack', channel, seq: one.seq })
  // Channel frames of one connection are handled in order: this reply means the ack is stored.
  await dave.request({ type: 'history', channel, limit: 1 })
  const { rows } = await harness.sql('SELECT user_id, seq::int FROM cursors WHERE channel = $1', [channel])
  t.same(rows, [{ user_id: 'dave', seq: one.seq }], 'the acked cursor is in PostgreSQL')
  await dave.close()
  const again = await node.connect('dave')
  t.teardown(() => again.close())
  const replayed = again.next(frame => frame.type === 'message' && frame.channel === channel)
  await again.request({ type: 'subscribe', channel })
  t.match(await replayed, { seq: two.seq, data: { text: 'two' } }, 'the next device resumes after the acked message')
})

t.test('dm › at-least-once: a message not acked is sent again to the recipient, never to the sender', async t => {
  const channel = 'dm:erin:frank'
  const erin = await node.connect('erin')
  const frank = await node.connect('frank')
  t.teardown(() => Promise.all([erin.close(), frank.close()]))
  await erin.request({ type: 'subscribe', channel })
  await frank.request({ type: 'subscribe', channel })
  const started = Date.now()
  const published = await erin.request({ type: 'publish', channel, data: { text: 'ack me' } })
  const seq = published.seq as number
  const redelivered = frank.next(frame => frame.type === 'message' && frame.seq === seq && copies(frank, channel, seq) >= 2, 'a second copy')
  await redelivered
  const elapsed = Date.now() - started
  t.ok(elapsed >= ACK_TIMEOUT_MS - 10, `redelivered once the ack timeout passed (${elapsed} ms)`)
  t.equal(copies(erin, channel, seq), 1, 'the sender got it once')
  frank.send({ type: 'ack', channel, seq })
  await frank.request({ type: 'history', channel, limit: 1 })
  const { rows } = await harness.sql('SELECT seq::int FROM cursors WHERE channel = $1 AND user_id = $2', [channel, 'frank'])
  t.same(rows, [{ seq }], 'the ack is recorded')
})

t.test('dm › persisted (history, rows in PostgreSQL); no presence', async t => {
  const alice = await node.connect('alice')
  t.teardown(() => alice.close())
  const history = await alice.request({ type: 'history', channel: dm, limit: 1 })
  t.match(history, { type: 'history', channel: dm, messages: [{ from: 'alice', data: { text: 'y'.repeat(4000) } }] })
  const { rows } = await harness.sql('SELECT count(*)::int AS n FROM messages WHERE channel = $1', [dm])
  t.equal(rows[0].n, 2)
  t.match(await alice.request({ type: 'presence', channel: dm }), { type: 'error', code: 'FORBIDDEN', message: /Presence is not enabled/ })
})

t.test('user › only the owner subscribes; nobody publishes but the server (from "system")', async t => {
  const bob = await node.connect('bob')
  const mallory = await node.connect('mallory')
  t.teardown(() => Promise.all([bob.close(), mallory.close()]))
  t.match(await mallory.request({ type: 'subscribe', channel: 'user:bob' }), { type: 'error', code: 'FORBIDDEN' })
  t.match(await mallory.request({ type: 'history', channel: 'user:bob' }), { type: 'error', code: 'FORBIDDEN' })
  t.match(await mallory.request({ type: 'publish', channel: 'user:bob', data: { kind: 'mention', room: 'lobby', mid: 'x', from: 'mallory', text: 'x' } }), {
    type: 'error',
    code: 'FORBIDDEN',
  })
  t.match(await bob.request({ type: 'publish', channel: 'user:bob', data: { kind: 'mention', room: 'lobby', mid: 'x', from: 'bob', text: 'x' } }), {
    type: 'error',
    code: 'FORBIDDEN',
  }, 'not even the owner')
  t.match(await bob.request({ type: 'subscribe', channel: 'user:bob' }), { type: 'subscribed', channel: 'user:bob' })
  const received = bob.next(frame => frame.type === 'message' && frame.channel === 'user:bob')
  const payload = { room: 'lobby', mid: '0b7e5c1a-3f2d-4c8e-9a6b-1d2e3f4a5b6c', from: 'alice', text: '@bob hi' }
  const sent = await notifyMention(node.app.switchboard, 'bob', payload)
  t.match(await received, { seq: sent.seq, from: 'system', data: { kind: 'mention', ...payload } })
  await t.rejects(node.app.switchboard.publish('user:bob', { kind: 'poke' }), { code: 'VALIDATION' }, 'only known notification kinds')
  t.match(await bob.request({ type: 'presence', channel: 'user:bob' }), { type: 'error', code: 'FORBIDDEN', message: /Presence is not enabled/ })
})

t.test('user › at-least-once: stored while offline, replayed on subscribe, redelivered until acked', async t => {
  const payload = { room: 'lobby', mid: '1b7e5c1a-3f2d-4c8e-9a6b-1d2e3f4a5b6c', from: 'alice', text: '@gina hi' }
  const sent = await notifyMention(node.app.switchboard, 'gina', payload)
  const { rows } = await harness.sql('SELECT from_user, data FROM messages WHERE channel = $1', ['user:gina'])
  t.same(rows, [{ from_user: 'system', data: { kind: 'mention', ...payload } }], 'stored in PostgreSQL')
  const gina = await node.connect('gina')
  t.teardown(() => gina.close())
  const replayed = gina.next(frame => frame.type === 'message' && frame.seq === sent.seq, 'the replay')
  const redelivered = gina.next(frame => frame.type === 'message' && frame.seq === sent.seq && copies(gina, 'user:gina', sent.seq) >= 2, 'a second copy')
  await gina.request({ type: 'subscribe', channel: 'user:gina' })
  t.match(await replayed, { from: 'system', data: { kind: 'mention', ...payload } }, 'replayed on subscribe')
  await redelivered
  t.pass('sent again while not acked')
  gina.send({ type: 'ack', channel: 'user:gina', seq: sent.seq })
  await gina.request({ type: 'history', channel: 'user:gina', limit: 1 })
  const cursor = await harness.sql('SELECT seq::int FROM cursors WHERE channel = $1 AND user_id = $2', ['user:gina', 'gina'])
  t.same(cursor.rows, [{ seq: sent.seq }])
})
