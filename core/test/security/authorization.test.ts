import t, { type Test } from 'tap'
import { z } from 'zod'
import { defineChannel } from '../../src/channels/define-channel.js'
import { startTestServer, type TestServer } from '../../src/testing/test-server.js'
import type { TestClient } from '../../src/testing/test-client.js'
import { allChannels } from '../channels/fixtures/test-channels.js'

/**
 * Default-deny authorization, beyond core/test/channels/channel-hub.test.ts (which covers a
 * rule-less channel without `since`, and refusals on `room:secret`): resuming with `since` on
 * a channel one may not read replays nothing, rule-less and partly-ruled channels deny what
 * they do not allow, only a literal `true` allows, and a rule that fails denies.
 */

/** A channel defined with no rules at all, and one with an empty rule set. */
const bare = defineChannel({ pattern: 'bare:{id}', schema: z.unknown(), presence: true })
const empty = defineChannel({ pattern: 'empty:{id}', schema: z.unknown(), presence: true, authorize: {} })
/** Publish allowed; subscribe (and so history and presence) not given, hence denied. */
const dropbox = defineChannel({ pattern: 'dropbox:{id}', schema: z.strictObject({ text: z.string() }), presence: true, authorize: { publish: () => true } })
/** Rules that return truthy values that are not `true`, or fail. */
const truthy = defineChannel({
  pattern: 'truthy:{kind}',
  schema: z.unknown(),
  authorize: {
    subscribe: ({ params }) => ({ one: 1, yes: 'yes', object: {}, promise: Promise.resolve(1) })[params.kind as 'one'] as unknown as boolean,
  },
})
const failing = defineChannel({
  pattern: 'failing:{id}',
  schema: z.unknown(),
  authorize: {
    subscribe: () => {
      throw new Error('the membership database is down')
    },
    history: () => Promise.reject(new Error('timeout')),
  },
})

async function server(t: Test): Promise<TestServer> {
  const s = await startTestServer({ channels: [...allChannels, bare, empty, dropbox, truthy, failing] })
  t.teardown(() => s.close())
  return s
}

/**
 * A request that passes through the connection's frame queue after everything sent before it
 * (unlike `ping`, which is answered at once), so frames caused by earlier requests arrived.
 */
function settle(client: TestClient): Promise<unknown> {
  return client.request({ type: 'history', channel: 'room:settle', limit: 1 })
}

const messagesOn = (client: TestClient, channel: string): number => client.frames.filter(f => f.type === 'message' && f.channel === channel).length

t.test('authorization › resume with since › a refused subscribe replays nothing and subscribes to nothing', async t => {
  const s = await server(t)
  // Seed each channel with messages the reader may not see (server-side publishes skip the publish rule).
  const targets: [user: string, channel: string, data: unknown][] = [
    ['mallory', 'locked:1', {}],
    ['mallory', 'bare:1', { secret: 1 }],
    ['bob', 'room:secret', { text: 'for alice only' }],
    ['eve', 'user:bob', { kind: 'mention', text: '@bob secret' }],
    ['carol', 'dm:alice:bob', { text: 'private' }],
    ['mallory', 'dropbox:1', { text: 'write-only' }],
  ]
  for (const [user, channel, data] of targets) {
    t.test(`${user} resuming ${channel}`, async t => {
      const first = await s.switchboard.publish(channel, data)
      await s.switchboard.publish(channel, data)
      const reader = await s.connect(user)
      for (const since of [{ epoch: first.epoch, seq: 0 }, { epoch: first.epoch, seq: 1 }, { epoch: 'another-epoch', seq: 0 }]) {
        t.match(await reader.request({ type: 'subscribe', channel, since }), { type: 'error', code: 'FORBIDDEN' }, `since ${JSON.stringify(since)}`)
      }
      t.match(await reader.request({ type: 'subscribe', channel }), { type: 'error', code: 'FORBIDDEN' }, 'without since')
      t.match(await reader.request({ type: 'history', channel, before: 10, limit: 100 }), { type: 'error', code: 'FORBIDDEN' }, 'history')
      t.match(await reader.request({ type: 'unsubscribe', channel }), { type: 'error', code: 'NOT_SUBSCRIBED' }, 'not subscribed')
      reader.send({ type: 'ack', channel, seq: 2 })
      t.match(await reader.next('error'), { code: 'NOT_SUBSCRIBED' }, 'cannot ack')
      // A live message now must not reach the refused reader either.
      await s.switchboard.publish(channel, data)
      await settle(reader)
      t.equal(messagesOn(reader, channel), 0, 'no message replayed or delivered')
      t.notOk([...s.switchboard.sessions()].some(session => session.user === user && session.subscriptions.has(channel)), 'no subscription recorded')
      await reader.close()
    })
  }
  t.test('the owner of the inbox still gets everything from the start (the refused ack moved no cursor)', async t => {
    const bob = await s.connect('bob')
    t.match(await bob.request({ type: 'subscribe', channel: 'user:bob' }), { type: 'subscribed', seq: 3 })
    while (messagesOn(bob, 'user:bob') < 3) await bob.next('message')
    t.same(bob.frames.filter(f => f.type === 'message').map(f => f.seq), [1, 2, 3])
    await bob.close()
  })
})

t.test('authorization › a channel defined without rules (or with an empty rule set) denies everything', async t => {
  const s = await server(t)
  const alice = await s.connect('alice')
  for (const channel of ['bare:1', 'empty:1', 'locked:1']) {
    for (const frame of [
      { type: 'subscribe', channel },
      { type: 'subscribe', channel, since: { epoch: 'e', seq: 0 } },
      { type: 'publish', channel, data: {} },
      { type: 'publish', channel, data: {}, key: 'k-1' },
      { type: 'history', channel },
      { type: 'history', channel, before: 1, limit: 1 },
      { type: 'presence', channel },
    ]) {
      t.match(await alice.request(frame), { type: 'error', code: 'FORBIDDEN' }, `${channel} ${JSON.stringify(frame)}`)
    }
  }
  t.match(await alice.request({ type: 'history', channel: 'bare:1' }), { code: 'FORBIDDEN' })
  t.equal((await s.switchboard.engines.store.position('bare:1')).seq, 0, 'nothing was stored')
  await alice.close()
})

t.test('authorization › a rule given for publish only leaves subscribe, history and presence denied', async t => {
  const s = await server(t)
  const alice = await s.connect('alice')
  t.match(await alice.request({ type: 'publish', channel: 'dropbox:1', data: { text: 'in' } }), { type: 'published', seq: 1 })
  t.match(await alice.request({ type: 'subscribe', channel: 'dropbox:1' }), { code: 'FORBIDDEN' })
  t.match(await alice.request({ type: 'history', channel: 'dropbox:1' }), { code: 'FORBIDDEN' })
  t.match(await alice.request({ type: 'presence', channel: 'dropbox:1' }), { code: 'FORBIDDEN' })
  await alice.close()
})

t.test('authorization › only a literal true allows: truthy values deny', async t => {
  const s = await server(t)
  const alice = await s.connect('alice')
  for (const kind of ['one', 'yes', 'object', 'promise']) {
    t.match(await alice.request({ type: 'subscribe', channel: `truthy:${kind}` }), { type: 'error', code: 'FORBIDDEN' }, kind)
  }
  await alice.close()
})

t.test('authorization › a rule that throws or rejects denies (fails closed) without leaking its error', async t => {
  const s = await server(t)
  const alice = await s.connect('alice')
  await s.switchboard.publish('failing:1', { n: 1 })
  for (const frame of [
    { type: 'subscribe', channel: 'failing:1' },
    { type: 'subscribe', channel: 'failing:1', since: { epoch: 'e', seq: 0 } },
    { type: 'history', channel: 'failing:1' },
  ]) {
    const reply = await alice.request(frame)
    t.equal(reply.type, 'error', `${JSON.stringify(frame)} → ${String(reply.code)}`)
    t.notMatch(String(reply.message), /database|timeout/, 'no internals')
  }
  await settle(alice)
  t.equal(messagesOn(alice, 'failing:1'), 0, 'nothing replayed')
  t.notOk([...s.switchboard.sessions()][0]?.subscriptions.has('failing:1'), 'not subscribed')
  await alice.close()
})
