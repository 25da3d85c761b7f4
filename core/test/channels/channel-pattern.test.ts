import t from 'tap'
import { ChannelPattern } from '../../src/channels/channel-pattern.js'
import { ChannelRegistry } from '../../src/channels/channel-registry.js'
import { defineChannel } from '../../src/channels/define-channel.js'
import { z } from 'zod'

t.test('ChannelPattern › matches names and parses params', async t => {
  const room = new ChannelPattern('room:{roomId}')
  t.equal(room.namespace, 'room')
  t.same(room.params, ['roomId'])
  t.same({ ...room.match('room:lobby') }, { roomId: 'lobby' })
  t.equal(room.match('room:a:b'), undefined, 'a param is one segment')
  t.equal(room.match('room:'), undefined, 'a param is not empty')
  t.equal(room.match('rooms:lobby'), undefined)
  const dm = new ChannelPattern('dm:{a}:{b}')
  t.same({ ...dm.match('dm:alice:bob') }, { a: 'alice', b: 'bob' })
  t.equal(dm.match('dm:alice'), undefined)
  const fixed = new ChannelPattern('feed:global:{lang}')
  t.same({ ...fixed.match('feed:global:en') }, { lang: 'en' })
  t.equal(fixed.match('feed:local:en'), undefined)
  t.equal(dm.format({ a: 'x', b: 'y' }), 'dm:x:y')
})

t.test('ChannelPattern › params object has no prototype to pollute', async t => {
  const params = new ChannelPattern('p:{constructor}').match('p:x')!
  t.equal(Object.getPrototypeOf(params), null)
})

t.test('ChannelPattern › refuses malformed patterns with CONFIG_INVALID', async t => {
  for (const bad of ['room', 'Room:{id}', ':x', 'room:{id}:{id}', 'room:{a b}', 'room:x{id}', 'room:', '1room:{id}']) {
    t.throws(() => new ChannelPattern(bad), { code: 'CONFIG_INVALID' }, bad)
  }
})

t.test('ChannelRegistry › resolves by namespace; unknown names are UNKNOWN_CHANNEL', async t => {
  const schema = z.strictObject({})
  const registry = new ChannelRegistry([
    defineChannel({ pattern: 'room:{roomId}', schema }),
    defineChannel({ pattern: 'dm:{a}:{b}', schema }),
  ])
  t.same({ ...registry.resolve('dm:a:b').params }, { a: 'a', b: 'b' })
  for (const name of ['nope:x', 'room:a:b', 'room', ':x', '__proto__:x', 'constructor:x']) {
    t.throws(() => registry.resolve(name), { code: 'UNKNOWN_CHANNEL' }, name)
  }
  t.throws(() => new ChannelRegistry([defineChannel({ pattern: 'room:{a}', schema }), defineChannel({ pattern: 'room:x:{b}', schema })]), {
    code: 'CONFIG_INVALID',
  })
})

t.test('defineChannel › defaults: persisted broadcast without presence, every rule denies', async t => {
  const channel = defineChannel({ pattern: 'room:{roomId}', schema: z.strictObject({ text: z.string() }) })
  t.equal(channel.persist, true)
  t.equal(channel.presence, false)
  t.equal(channel.delivery, 'broadcast')
  for (const rule of ['subscribe', 'publish', 'history', 'presence'] as const) {
    t.equal(await channel.authorize[rule]({ channel: 'room:x', params: { roomId: 'x' }, user: 'u' }), false, rule)
  }
  t.throws(() => defineChannel({ pattern: 'dm:{a}:{b}', schema: z.strictObject({}), delivery: 'at-least-once' }), { code: 'CONFIG_INVALID' })
})

t.test('defineChannel › history and presence rules default to the subscribe rule', async t => {
  const channel = defineChannel({
    pattern: 'room:{roomId}',
    schema: z.strictObject({}),
    authorize: { subscribe: ({ user }) => user === 'member' },
  })
  t.equal(await channel.authorize.history({ channel: 'room:x', params: { roomId: 'x' }, user: 'member' }), true)
  t.equal(await channel.authorize.presence({ channel: 'room:x', params: { roomId: 'x' }, user: 'other' }), false)
})
