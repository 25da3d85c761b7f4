import t from 'tap'
import { MemoryMessageStore } from '../../src/engines/memory/memory-message-store.js'
import type { StoredMessage } from '../../src/engines/store.js'
import { startTestServer } from '../../src/testing/test-server.js'
import { room } from './fixtures/test-channels.js'

/** A memory store whose `range` fails `failures` times once armed (the database restarting mid-replay). */
class FlakyStore extends MemoryMessageStore {
  failures = 0
  override async range(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    if (this.failures > 0) {
      this.failures -= 1
      throw new Error('connection terminated')
    }
    return super.range(channel, afterSeq, limit)
  }
}

t.test('subscribe › a replay that fails after `subscribed` is finished from the store, and live messages follow', async t => {
  const store = new FlakyStore()
  const server = await startTestServer({ channels: [room], engines: { store } })
  t.teardown(() => server.close())
  const writer = await server.connect('writer')
  for (let i = 1; i <= 10; i++) await writer.request({ type: 'publish', channel: 'room:flaky', data: { text: `m${i}` } })
  const reader = await server.connect('reader')
  const first = await reader.request({ type: 'subscribe', channel: 'room:flaky' })
  store.failures = 3
  await reader.request({ type: 'unsubscribe', channel: 'room:flaky' })
  const resumed = await reader.request({ type: 'subscribe', channel: 'room:flaky', since: { epoch: first.epoch, seq: 4 } })
  t.match(resumed, { type: 'subscribed', recovered: true }, 'the client was told its resume recovers')
  await writer.request({ type: 'publish', channel: 'room:flaky', data: { text: 'live' } })
  await reader.next(f => f.type === 'message' && f.seq === 11, 'the live message after the fill', true)
  const seqs = reader.frames.filter(f => f.type === 'message').map(f => f.seq)
  t.same(seqs, [5, 6, 7, 8, 9, 10, 11], 'the rest of the replay came from the store once it answered, then live traffic, nothing twice')
  t.equal(store.failures, 0, 'the store failed three times first')
})
