import t, { type Test } from 'tap'
import { startTestServer, type TestServer } from '../../src/testing/test-server.js'
import type { AnyFrame, TestClient } from '../../src/testing/test-client.js'
import { allChannels } from './fixtures/test-channels.js'

async function server(t: Test, options = {}): Promise<TestServer> {
  const s = await startTestServer({ channels: allChannels, ...options })
  t.teardown(() => s.close())
  return s
}

/** Collects `message` frames of `channel` as they arrive; resolves when `count` arrived. */
function messages(client: TestClient, channel: string, count: number): Promise<AnyFrame[]> {
  const got = () => client.frames.filter(f => f.type === 'message' && f.channel === channel)
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      if (got().length >= count) {
        resolve(got())
        return true
      }
      return false
    }
    if (check()) return
    client.next(f => f.type === 'message' && f.channel === channel && got().length >= count, `${count} messages on ${channel}`).then(check, reject)
  })
}

t.test('ChannelHub › subscribe and publish › subscribers get each message with seq, epoch, mid, from, ts', async t => {
  const s = await server(t)
  const alice = await s.connect('alice')
  const bob = await s.connect('bob')
  const subscribed = await bob.request({ type: 'subscribe', channel: 'room:lobby' })
  t.match(subscribed, { type: 'subscribed', channel: 'room:lobby', seq: 0, recovered: false })
  t.type(subscribed.epoch, 'string')
  const published = await alice.request({ type: 'publish', channel: 'room:lobby', data: { text: 'hi' } })
  t.match(published, { type: 'published', channel: 'room:lobby', seq: 1 })
  const [message] = await messages(bob, 'room:lobby', 1)
  t.match(message, { type: 'message', channel: 'room:lobby', seq: 1, epoch: subscribed.epoch, mid: published.mid, from: 'alice', data: { text: 'hi' } })
  t.type(message!.ts, 'number')
  await alice.close()
  await bob.close()
})

t.test('ChannelHub › authorization › params reach the rules; refusals are FORBIDDEN and change nothing', async t => {
  const s = await server(t)
  const alice = await s.connect('alice')
  const bob = await s.connect('bob')
  t.match(await bob.request({ type: 'subscribe', channel: 'room:secret' }), { type: 'error', code: 'FORBIDDEN' })
  t.match(await bob.request({ type: 'publish', channel: 'room:secret', data: { text: 'x' } }), { type: 'error', code: 'FORBIDDEN' })
  t.match(await bob.request({ type: 'history', channel: 'room:secret' }), { type: 'error', code: 'FORBIDDEN' })
  t.match(await bob.request({ type: 'presence', channel: 'room:secret' }), { type: 'error', code: 'FORBIDDEN' })
  t.match(await alice.request({ type: 'subscribe', channel: 'room:secret' }), { type: 'subscribed', seq: 0 })
  t.match(await alice.request({ type: 'history', channel: 'room:secret' }), { type: 'history', messages: [] }, 'nothing was stored')
  t.equal(s.switchboard.sessions().next().value?.subscriptions.has('room:secret') ?? false, true)
  await alice.close()
  await bob.close()
})

t.test('ChannelHub › authorization › a channel without rules denies everything (default deny)', async t => {
  const s = await server(t)
  const alice = await s.connect('alice')
  for (const frame of [
    { type: 'subscribe', channel: 'locked:1' },
    { type: 'publish', channel: 'locked:1', data: {} },
    { type: 'history', channel: 'locked:1' },
    { type: 'presence', channel: 'locked:1' },
  ]) {
    t.match(await alice.request(frame), { type: 'error', code: 'FORBIDDEN' }, frame.type)
  }
  await alice.close()
})

t.test('ChannelHub › authorization › a rule may refuse with its own message (DM canonical order)', async t => {
  const s = await server(t)
  const bob = await s.connect('bob')
  const refused = await bob.request({ type: 'subscribe', channel: 'dm:bob:alice' })
  t.match(refused, { type: 'error', code: 'FORBIDDEN' })
  t.match(String(refused.message), 'dm:alice:bob')
  t.match(await bob.request({ type: 'subscribe', channel: 'dm:alice:bob' }), { type: 'subscribed' })
  t.match(await (await s.connect('carol')).request({ type: 'subscribe', channel: 'dm:alice:bob' }), { code: 'FORBIDDEN' })
  await bob.close()
})

t.test('ChannelHub › validation › bad data is VALIDATION with details and stores nothing', async t => {
  const s = await server(t)
  const alice = await s.connect('alice')
  const cases: [unknown, string][] = [
    [{ text: 42 }, 'text'],
    [{}, 'text'],
    [{ text: '' }, 'text'],
    [{ text: 'x'.repeat(101) }, 'text'],
    [{ text: 'ok', extra: true }, ''],
    ['just a string', ''],
  ]
  for (const [data, path] of cases) {
    const reply = await alice.request({ type: 'publish', channel: 'room:lobby', data })
    t.match(reply, { type: 'error', code: 'VALIDATION' }, JSON.stringify(data))
    const details = reply.details as { path: string; message: string }[]
    t.ok(Array.isArray(details) && details.length > 0, 'details listed')
    t.equal(details[0]!.path, path)
    t.type(details[0]!.message, 'string')
  }
  t.match(await alice.request({ type: 'history', channel: 'room:lobby' }), { messages: [] })
  t.match(await alice.request({ type: 'publish', channel: 'nowhere:x', data: {} }), { code: 'UNKNOWN_CHANNEL' })
  await alice.close()
})

t.test('ChannelHub › onPublish › may transform or refuse', async t => {
  const s = await server(t)
  const alice = await s.connect('alice')
  await alice.request({ type: 'subscribe', channel: 'shout:1' })
  t.match(await alice.request({ type: 'publish', channel: 'shout:1', data: { text: 'bad' } }), { code: 'FORBIDDEN', message: 'No bad words.' })
  await alice.request({ type: 'publish', channel: 'shout:1', data: { text: 'hello' } })
  const [message] = await messages(alice, 'shout:1', 1)
  t.same(message!.data, { text: 'HELLO' })
  t.equal(message!.seq, 1, 'the refused publish took no seq')
  await alice.close()
})

t.test('ChannelHub › presence › join and leave events, and the member list', async t => {
  const s = await server(t)
  const alice = await s.connect('alice')
  const bob = await s.connect('bob')
  const bob2 = await s.connect('bob')
  await alice.request({ type: 'subscribe', channel: 'room:lobby' })
  const joined = alice.next(f => f.type === 'join' && f.user === 'bob')
  await bob.request({ type: 'subscribe', channel: 'room:lobby' })
  t.same(await joined, { type: 'join', channel: 'room:lobby', user: 'bob' })
  await bob2.request({ type: 'subscribe', channel: 'room:lobby' })
  t.same((await alice.request({ type: 'presence', channel: 'room:lobby' })).members, [
    { user: 'alice', connections: 1 },
    { user: 'bob', connections: 2 },
  ])
  const left = alice.next(f => f.type === 'leave')
  await bob.request({ type: 'unsubscribe', channel: 'room:lobby' })
  await bob2.close()
  t.same(await left, { type: 'leave', channel: 'room:lobby', user: 'bob' }, 'one leave, when the last connection went')
  t.equal(alice.frames.filter(f => f.type === 'leave').length, 1)
  t.same((await alice.request({ type: 'presence', channel: 'room:lobby' })).members, [{ user: 'alice', connections: 1 }])
  t.match(await alice.request({ type: 'presence', channel: 'typing:lobby' }), { code: 'FORBIDDEN' }, 'presence off on typing')
  await alice.close()
  await bob.close()
})

t.test('ChannelHub › server-side publish › reaches the inbox as from "system"; clients cannot publish there', async t => {
  const s = await server(t)
  const bob = await s.connect('bob')
  await bob.request({ type: 'subscribe', channel: 'user:bob' })
  const result = await s.switchboard.publish('user:bob', { kind: 'mention', text: '@bob hi' })
  t.match(result, { channel: 'user:bob', seq: 1, duplicate: false })
  const [message] = await messages(bob, 'user:bob', 1)
  t.match(message, { from: 'system', seq: 1, mid: result.mid, data: { kind: 'mention', text: '@bob hi' } })
  t.match(await bob.request({ type: 'publish', channel: 'user:bob', data: { kind: 'mention', text: 'x' } }), { code: 'FORBIDDEN' })
  t.match(await (await s.connect('eve')).request({ type: 'subscribe', channel: 'user:bob' }), { code: 'FORBIDDEN' })
  await t.rejects(s.switchboard.publish('user:bob', { kind: 'other' }), { code: 'VALIDATION' })
  await t.rejects(s.switchboard.publish('nowhere:1', {}), { code: 'UNKNOWN_CHANNEL' })
  await bob.close()
})

t.test('ChannelHub › idempotency › a repeated key answers the first seq and mid and broadcasts nothing again', async t => {
  const s = await server(t)
  const alice = await s.connect('alice')
  await alice.request({ type: 'subscribe', channel: 'room:k' })
  const first = await alice.request({ type: 'publish', channel: 'room:k', data: { text: 'once' }, key: 'k-1' })
  const again = await alice.request({ type: 'publish', channel: 'room:k', data: { text: 'once' }, key: 'k-1' })
  t.equal(again.seq, first.seq)
  t.equal(again.mid, first.mid)
  await alice.request({ type: 'publish', channel: 'room:k', data: { text: 'next' } })
  const got = await messages(alice, 'room:k', 2)
  t.same(got.map(m => m.seq), [1, 2], 'one message for the key, then the next')
  await alice.close()
})

t.test('ChannelHub › since › resumes with the missed messages in order, then live', async t => {
  const s = await server(t)
  const alice = await s.connect('alice')
  let bob = await s.connect('bob')
  const sub = await bob.request({ type: 'subscribe', channel: 'room:r' })
  for (const text of ['1', '2', '3']) await alice.request({ type: 'publish', channel: 'room:r', data: { text } })
  await messages(bob, 'room:r', 3)
  await bob.close()
  for (const text of ['4', '5']) await alice.request({ type: 'publish', channel: 'room:r', data: { text } })
  bob = await s.connect('bob')
  const resumed = await bob.request({ type: 'subscribe', channel: 'room:r', since: { epoch: sub.epoch, seq: 3 } })
  t.match(resumed, { type: 'subscribed', seq: 5, recovered: true, epoch: sub.epoch })
  await alice.request({ type: 'publish', channel: 'room:r', data: { text: '6' } })
  const got = await messages(bob, 'room:r', 3)
  t.same(got.map(m => [m.seq, (m.data as { text: string }).text]), [[4, '4'], [5, '5'], [6, '6']])
  const stale = await bob.request({ type: 'subscribe', channel: 'room:r', since: { epoch: 'another-epoch', seq: 3 } })
  t.match(stale, { type: 'subscribed', seq: 6, recovered: false }, 'a different epoch cannot be recovered')
  const future = await bob.request({ type: 'subscribe', channel: 'room:r', since: { epoch: sub.epoch, seq: 60 } })
  t.match(future, { recovered: false }, 'a seq past the latest cannot be recovered')
  await alice.close()
  await bob.close()
})

t.test('ChannelHub › since › no gap and no duplicate at the seam while others publish', async t => {
  const s = await server(t)
  const publishers = await Promise.all(['p1', 'p2', 'p3'].map(u => s.connect(u)))
  const reader = await s.connect('reader')
  const TOTAL = 300
  let sent = 0
  const publishing = Promise.all(
    publishers.map(async p => {
      while (sent < TOTAL) {
        sent += 1
        await p.request({ type: 'publish', channel: 'room:seam', data: { text: String(sent) } })
      }
    }),
  )
  // Resubscribe repeatedly mid-stream, each time from the last seq seen.
  let epoch = ''
  let last = 0
  const seen: number[] = []
  for (let round = 0; round < 5; round++) {
    const reply = await reader.request({ type: 'subscribe', channel: 'room:seam', ...(epoch ? { since: { epoch, seq: last } } : {}) })
    epoch = reply.epoch as string
    const opened = reader.frames.indexOf(reply)
    const target = Math.min(TOTAL, Math.max(last, reply.seq as number) + 40)
    const roundMessages = (): AnyFrame[] => reader.frames.slice(opened).filter(f => f.type === 'message')
    while (((roundMessages().at(-1)?.seq as number | undefined) ?? 0) < target) await reader.next('message')
    const closed = await reader.request({ type: 'unsubscribe', channel: 'room:seam' })
    // Everything between `subscribed` and `unsubscribed` belongs to this round.
    const round_ = reader.frames.slice(opened, reader.frames.indexOf(closed)).filter(f => f.type === 'message')
    if (round === 0 && round_.length > 0) last = (round_[0]!.seq as number) - 1
    for (const m of round_) seen.push(m.seq as number)
    last = seen.at(-1) ?? last
  }
  await publishing
  const start = seen[0]!
  t.ok(seen.length >= 150, `${seen.length} messages seen across 5 resubscribes`)
  t.same(seen, Array.from({ length: seen.length }, (_, i) => start + i), 'dense, in order, no duplicate')
  const delivered = reader.frames.filter(f => f.type === 'message').map(f => f.seq as number)
  t.equal(new Set(delivered).size, delivered.length, 'no message delivered twice')
  for (const c of [...publishers, reader]) await c.close()
})

t.test('ChannelHub › at-least-once › a recipient resumes after its acked cursor on any device', async t => {
  const s = await server(t)
  const alice = await s.connect('alice')
  let bob = await s.connect('bob')
  await bob.request({ type: 'subscribe', channel: 'dm:alice:bob' })
  for (const text of ['a', 'b']) await alice.request({ type: 'publish', channel: 'dm:alice:bob', data: { text } })
  await messages(bob, 'dm:alice:bob', 2)
  bob.send({ type: 'ack', channel: 'dm:alice:bob', seq: 1 })
  t.match(await bob.request({ type: 'ping' }), { type: 'pong' })
  await bob.close()
  await alice.request({ type: 'publish', channel: 'dm:alice:bob', data: { text: 'c' } })
  bob = await s.connect('bob')
  t.match(await bob.request({ type: 'subscribe', channel: 'dm:alice:bob' }), { type: 'subscribed', seq: 3 })
  const got = await messages(bob, 'dm:alice:bob', 2)
  t.same(got.map(m => m.seq), [2, 3], 'everything after the acked seq, nothing before it')
  await alice.close()
  await bob.close()
})

t.test('ChannelHub › ephemeral channels › numbered, not recoverable, no history', async t => {
  const s = await server(t)
  const alice = await s.connect('alice')
  const sub = await alice.request({ type: 'subscribe', channel: 'typing:lobby' })
  await alice.request({ type: 'publish', channel: 'typing:lobby', data: { typing: true } })
  await alice.request({ type: 'publish', channel: 'typing:lobby', data: { typing: false } })
  const got = await messages(alice, 'typing:lobby', 2)
  t.same(got.map(m => m.seq), [1, 2])
  t.match(await alice.request({ type: 'subscribe', channel: 'typing:lobby', since: { epoch: sub.epoch, seq: 0 } }), { recovered: false, seq: 2 })
  t.match(await alice.request({ type: 'history', channel: 'typing:lobby' }), { type: 'history', messages: [] })
  await alice.close()
})

t.test('ChannelHub › history › pages oldest first with before and limit', async t => {
  const s = await server(t)
  const alice = await s.connect('alice')
  for (let i = 1; i <= 7; i++) await alice.request({ type: 'publish', channel: 'room:h', data: { text: String(i) } })
  const latest = await alice.request({ type: 'history', channel: 'room:h', limit: 3 })
  t.same((latest.messages as AnyFrame[]).map(m => m.seq), [5, 6, 7])
  t.equal((latest.messages as AnyFrame[])[0]!.type, undefined, 'history messages carry no type')
  const before = await alice.request({ type: 'history', channel: 'room:h', before: 5, limit: 3 })
  t.same((before.messages as AnyFrame[]).map(m => m.seq), [2, 3, 4])
  await alice.close()
})

t.test('ChannelHub › subscriptions › NOT_SUBSCRIBED, unsubscribe, TOO_MANY_SUBSCRIPTIONS, resubscribe', async t => {
  const s = await server(t, { maxSubscriptionsPerConnection: 2 })
  const alice = await s.connect('alice')
  t.match(await alice.request({ type: 'unsubscribe', channel: 'room:a' }), { code: 'NOT_SUBSCRIBED' })
  const ackError = alice.next('error')
  alice.send({ type: 'ack', channel: 'dm:alice:bob', seq: 1 })
  t.match(await ackError, { code: 'NOT_SUBSCRIBED' })
  await alice.request({ type: 'subscribe', channel: 'room:a' })
  await alice.request({ type: 'subscribe', channel: 'room:b' })
  t.match(await alice.request({ type: 'subscribe', channel: 'room:c' }), { code: 'TOO_MANY_SUBSCRIPTIONS' })
  t.match(await alice.request({ type: 'subscribe', channel: 'room:a' }), { type: 'subscribed' }, 'resubscribing is not a new subscription')
  t.match(await alice.request({ type: 'unsubscribe', channel: 'room:b' }), { type: 'unsubscribed', channel: 'room:b' })
  t.match(await alice.request({ type: 'subscribe', channel: 'room:c' }), { type: 'subscribed' })
  await alice.request({ type: 'publish', channel: 'room:b', data: { text: 'not for you' } })
  await alice.request({ type: 'publish', channel: 'room:c', data: { text: 'for you' } })
  const [message] = await messages(alice, 'room:c', 1)
  t.equal(message!.channel, 'room:c')
  t.equal(alice.frames.filter(f => f.type === 'message' && f.channel === 'room:b').length, 0, 'nothing after unsubscribe')
  await alice.close()
})

t.test('ChannelHub › broadcast › nothing is encoded or sent to the broker for a channel nobody subscribes to', async t => {
  const { MemoryBroker } = await import('../../src/engines/memory/memory-broker.js')
  /** A real memory broker that records what reaches it. */
  class CountingBroker extends MemoryBroker {
    readonly published: string[] = []
    override async publish(channel: string, payload: string): Promise<void> {
      this.published.push(channel)
      return super.publish(channel, payload)
    }
  }
  const broker = new CountingBroker()
  const s = await server(t, { engines: { broker } })
  const alice = await s.connect('alice')
  t.match(await alice.request({ type: 'publish', channel: 'room:quiet', data: { text: 'one' } }), { type: 'published', seq: 1 })
  t.same(broker.published, [], 'no subscriber anywhere: the broker got nothing')
  const bob = await s.connect('bob')
  t.match(await bob.request({ type: 'subscribe', channel: 'room:quiet' }), { type: 'subscribed', seq: 1 })
  t.match(await alice.request({ type: 'publish', channel: 'room:quiet', data: { text: 'two' } }), { type: 'published', seq: 2 })
  const [message] = await messages(bob, 'room:quiet', 1)
  t.match(message, { seq: 2, data: { text: 'two' } })
  t.ok(broker.published.includes('room:quiet'), 'with a subscriber the message goes through the broker')
  await alice.close()
  await bob.close()
})
