import t from 'tap'
import { z } from 'zod'
import { defineChannel } from '../../src/channels/define-channel.js'
import type { StoredMessage } from '../../src/engines/store.js'
import { startTestServer } from '../../src/testing/test-server.js'
import { inbox } from './fixtures/test-channels.js'

// A channel's onPublished hook: once per new message, after the commit, with the stored message
// and a server publish, detached from the publisher's reply.

t.test('onPublished › runs once per new message with its mid, can publish, and fails nothing when it throws', async t => {
  const seen: StoredMessage[] = []
  let release: () => void = () => {}
  const gate = new Promise<void>(resolve => (release = resolve))
  const notes = defineChannel({
    pattern: 'notes:{id}',
    schema: z.strictObject({ text: z.string() }),
    authorize: { subscribe: () => true, publish: () => true },
    onPublished: async ({ channel, params, message, publish }) => {
      seen.push(message)
      if (message.data.text === 'throw') throw new Error('hook failed')
      if (message.data.text === 'slow') await gate
      await publish(`user:${params.id}`, { kind: 'mention', text: `${channel}#${message.seq} ${message.mid}` }, { key: `note:${message.mid}` })
    },
  })
  const server = await startTestServer({ channels: [notes, inbox] })
  t.teardown(() => server.close())
  const bob = await server.connect('bob')
  await bob.request({ type: 'subscribe', channel: 'user:bob' })
  const alice = await server.connect('alice')

  const first = await alice.request({ type: 'publish', channel: 'notes:bob', data: { text: 'hello' }, key: 'k1' })
  const note = await bob.next(f => f.type === 'message' && f.channel === 'user:bob', 'the note')
  t.match(note, { from: 'system', data: { kind: 'mention', text: `notes:bob#1 ${first.mid}` } }, 'the hook saw the committed message and published')
  await alice.request({ type: 'publish', channel: 'notes:bob', data: { text: 'hello' }, key: 'k1' })
  t.equal(seen.length, 1, 'a repeated idempotency key does not run it again')

  const thrown = await alice.request({ type: 'publish', channel: 'notes:bob', data: { text: 'throw' } })
  t.equal(thrown.type, 'published', 'a hook that throws fails nothing')
  const slow = await alice.request({ type: 'publish', channel: 'notes:bob', data: { text: 'slow' } })
  t.equal(slow.type, 'published', 'the reply does not wait for the hook')
  t.equal((await alice.request({ type: 'ping' })).type, 'pong', 'nor do the next frames')
  release()
  await bob.next(f => f.type === 'message' && f.channel === 'user:bob' && String((f.data as { text: string }).text).startsWith('notes:bob#3'), 'the slow note')
  t.same(seen.map(m => m.seq), [1, 2, 3])
})
