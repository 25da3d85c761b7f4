import t from 'tap'
import { MemoryMessageStore, type StoredMessage } from '@switchboard/core'
import { observeAppends } from '../src/app/observe-appends.js'
import { mentionedNames } from '../src/channels/room/mentions.js'

t.test('observeAppends › the listener sees each stored message once, never a repeated key', async t => {
  const seen: StoredMessage[] = []
  const store = observeAppends(new MemoryMessageStore(), async message => void seen.push(message))
  const first = await store.append({ channel: 'room:a', from: 'alice', data: { text: 'hi' }, key: 'k1' })
  const repeat = await store.append({ channel: 'room:a', from: 'alice', data: { text: 'hi' }, key: 'k1' })
  t.equal(repeat.duplicate, true)
  t.same(seen, [first.message], 'the committed message, with its mid, once')
})

t.test('observeAppends › a failing listener fails nothing; other methods are the store\'s own (private fields too)', async t => {
  const store = observeAppends(new MemoryMessageStore(), async () => {
    throw new Error('listener failed')
  })
  const { message } = await store.append({ channel: 'room:b', from: 'bob', data: { text: 'x' } })
  t.match(await store.position('room:b'), { seq: message.seq })
  t.same(await store.history('room:b', { limit: 10 }), [message])
  await store.close()
  await t.rejects(store.append({ channel: 'room:b', from: 'bob', data: { text: 'y' } }), { code: 'CLOSED' })
})

t.test('observeAppends › optional members of the store (readiness ping) pass through', async t => {
  let pinged = 0
  const inner = Object.assign(new MemoryMessageStore(), { ping: async () => void pinged++ })
  const store = observeAppends(inner, async () => {})
  t.type(store.ping, 'function')
  await store.ping!()
  t.equal(pinged, 1)
  t.equal(observeAppends(new MemoryMessageStore(), async () => {}).ping, undefined, 'and are absent when the store has none')
})

t.test('mentionedNames › @names in order, once each, not inside words or e-mail addresses', async t => {
  t.same(mentionedNames('@bob hi @alice, @bob again'), ['bob', 'alice'])
  t.same(mentionedNames('mail bob@example.com or @carol.'), ['carol'])
  t.same(mentionedNames('(@dave) @e_f-g! @@h @' + 'x'.repeat(33)), ['dave', 'e_f-g'])
  t.same(mentionedNames('no mentions'), [])
  t.same(mentionedNames('@system @bob'), ['bob'], 'reserved names are never notified')
})
