import t, { type Test } from 'tap'
import { startTestServer } from '../../src/testing/test-server.js'
import { room } from './fixtures/test-channels.js'
import { StallingStore } from '../helpers/stalling-store.js'

async function setup(t: Test, options: { handlerDeadlineMs?: number } = {}) {
  const store = new StallingStore()
  const server = await startTestServer({ channels: [room], engines: { store }, ...options })
  t.teardown(() => server.close())
  const writer = await server.connect('writer')
  const reader = await server.connect('reader')
  /** The reader's subscriptions as the server holds them. */
  const subscriptions = (): string[] => [...server.switchboard.sessions()].filter(s => s.user === 'reader').flatMap(s => [...s.subscriptions])
  /** Seqs of the `message` frames the reader got on room:a. */
  const seqs = (): unknown[] => reader.frames.filter(f => f.type === 'message' && f.channel === 'room:a').map(f => f.seq)
  return { store, writer, reader, subscriptions, seqs }
}

t.test('subscribe › a setup that fails answers INTERNAL and leaves no subscription behind', async t => {
  const { store, writer, reader, subscriptions, seqs } = await setup(t)
  store.failNext = true
  t.match(await reader.request({ type: 'subscribe', channel: 'room:a' }), { type: 'error', code: 'INTERNAL' })
  t.same(subscriptions(), [], 'not subscribed')
  t.match(await reader.request({ type: 'unsubscribe', channel: 'room:a' }), { type: 'error', code: 'NOT_SUBSCRIBED' })
  reader.send({ type: 'ack', channel: 'room:a', seq: 1 })
  t.match(await reader.next('error'), { type: 'error', code: 'NOT_SUBSCRIBED' }, 'an ack is refused')
  await writer.request({ type: 'publish', channel: 'room:a', data: { text: 'after' } })
  t.match(await reader.request({ type: 'ping' }), { type: 'pong' })
  t.same(seqs(), [], 'no message reached the failed subscriber')
  t.match(await reader.request({ type: 'subscribe', channel: 'room:a' }), { type: 'subscribed', seq: 1 }, 'a new subscribe works')
})

t.test('subscribe › a resubscribe that fails keeps the subscription as it was, and passes on what arrived meanwhile', async t => {
  const { store, writer, reader, subscriptions, seqs } = await setup(t)
  await reader.request({ type: 'subscribe', channel: 'room:a' })
  await writer.request({ type: 'publish', channel: 'room:a', data: { text: 'm1' } })
  await reader.next(f => f.type === 'message' && f.seq === 1, 'm1')
  store.hold()
  const resubscribe = reader.request({ type: 'subscribe', channel: 'room:a' })
  await store.stalled
  // Published while the resubscribe holds live traffic back.
  await writer.request({ type: 'publish', channel: 'room:a', data: { text: 'm2' } })
  store.release('fail')
  t.match(await resubscribe, { type: 'error', code: 'INTERNAL' })
  t.same(subscriptions(), ['room:a'], 'still subscribed')
  await reader.next(f => f.type === 'message' && f.seq === 2, 'm2, held during the resubscribe, passed on', true)
  await writer.request({ type: 'publish', channel: 'room:a', data: { text: 'm3' } })
  await reader.next(f => f.type === 'message' && f.seq === 3, 'm3, live')
  t.same(seqs(), [1, 2, 3], 'every message once, in order')
})

t.test('subscribe › past its deadline: TIMEOUT, never a late subscribed, and no subscription', async t => {
  const { store, writer, reader, subscriptions, seqs } = await setup(t, { handlerDeadlineMs: 100 })
  store.hold()
  const reply = reader.request({ type: 'subscribe', channel: 'room:a' })
  await store.stalled
  t.match(await reply, { type: 'error', code: 'TIMEOUT' })
  store.release('ok')
  // Whatever the late handler sent would come before this message and the pong.
  await writer.request({ type: 'publish', channel: 'room:a', data: { text: 'after' } })
  t.match(await reader.request({ type: 'ping' }), { type: 'pong' })
  t.same(reader.frames.filter(f => f.type === 'subscribed'), [], 'no subscribed')
  t.same(seqs(), [], 'no message')
  t.same(subscriptions(), [], 'not subscribed')
  t.match(await reader.request({ type: 'subscribe', channel: 'room:a' }), { type: 'subscribed', seq: 1 }, 'a new subscribe works')
})

t.test('subscribe › a resubscribe past its deadline: TIMEOUT, and the subscription goes on as before', async t => {
  const { store, writer, reader, subscriptions, seqs } = await setup(t, { handlerDeadlineMs: 100 })
  await reader.request({ type: 'subscribe', channel: 'room:a' })
  store.hold()
  const reply = reader.request({ type: 'subscribe', channel: 'room:a' })
  await store.stalled
  t.match(await reply, { type: 'error', code: 'TIMEOUT' })
  await writer.request({ type: 'publish', channel: 'room:a', data: { text: 'm1' } })
  store.release('ok')
  await reader.next(f => f.type === 'message' && f.seq === 1, 'm1, held during the resubscribe, passed on', true)
  t.same(reader.frames.filter(f => f.type === 'subscribed').length, 1, 'only the first subscribe was answered subscribed')
  t.same(subscriptions(), ['room:a'], 'still subscribed')
  await writer.request({ type: 'publish', channel: 'room:a', data: { text: 'm2' } })
  await reader.next(f => f.type === 'message' && f.seq === 2, 'm2, live')
  t.same(seqs(), [1, 2])
})
