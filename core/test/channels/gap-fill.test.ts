import t from 'tap'
import { MemoryBroker, MemoryBus } from '../../src/engines/memory/memory-broker.js'
import { MemoryMessageStore } from '../../src/engines/memory/memory-message-store.js'
import type { StoredMessage } from '../../src/engines/store.js'
import { startTestServer } from '../../src/testing/test-server.js'
import { HeldBroker } from '../helpers/held-broker.js'
import { room } from './fixtures/test-channels.js'

/** A memory store that records every `range` call (channel and seq after). */
class CountingStore extends MemoryMessageStore {
  readonly ranges: { channel: string; afterSeq: number }[] = []
  override range(channel: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    this.ranges.push({ channel, afterSeq })
    return super.range(channel, afterSeq, limit)
  }
}

const READERS = 20

t.test('gap fill › the subscribers of one node that see the same seq jump share one store read', async t => {
  // Two nodes of one cluster in this process: one store, one bus. Node a's link to the bus can be held.
  const store = new CountingStore()
  const bus = new MemoryBus()
  const slowLink = new HeldBroker(bus)
  const config = { channels: [room], publishRatePerSecond: 100_000, publishBurst: 100_000 }
  const a = await startTestServer({ ...config, engines: { store, broker: slowLink } })
  const b = await startTestServer({ ...config, engines: { store, broker: new MemoryBroker({ bus }) } })
  t.teardown(async () => {
    slowLink.release()
    await a.close()
    await b.close()
  })
  const channel = 'room:herd'
  const alice = await a.connect('alice')
  const bob = await b.connect('bob')
  const readers = await Promise.all(Array.from({ length: READERS }, (_, i) => b.connect(`reader${i}`)))
  for (const reader of readers) await reader.request({ type: 'subscribe', channel })
  const before = store.ranges.length

  // Seq 1 is committed on node a but its fan-out is late; seq 2 reaches node b first: every reader there sees 0 → 2.
  slowLink.hold()
  t.match(await alice.request({ type: 'publish', channel, data: { text: 'first' } }), { type: 'published', seq: 1 })
  t.match(await bob.request({ type: 'publish', channel, data: { text: 'second' } }), { type: 'published', seq: 2 })
  for (const reader of readers) await reader.next(f => f.type === 'message' && f.seq === 2, 'seq 2 after the fill')
  const fills = store.ranges.slice(before).filter(r => r.channel === channel)
  t.same(fills, [{ channel, afterSeq: 0 }], `one store read filled the gap for all ${READERS} readers`)
  for (const [i, reader] of readers.entries()) {
    const got = reader.frames.filter(f => f.type === 'message').map(f => [f.seq, (f.data as { text: string }).text])
    t.same(got, [[1, 'first'], [2, 'second']], `reader ${i}: seq 1 from the store, then seq 2, once each`)
  }

  // Node a's late seq 1 now arrives at node b: a repeat, dropped; seq 3 follows live.
  slowLink.release()
  t.match(await alice.request({ type: 'publish', channel, data: { text: 'third' } }), { type: 'published', seq: 3 })
  for (const reader of readers) await reader.next(f => f.type === 'message' && f.seq === 3, 'seq 3')
  t.ok(
    readers.every(reader => reader.frames.filter(f => f.type === 'message').map(f => f.seq).join() === '1,2,3'),
    'every reader got 1, 2, 3 once each',
  )
  t.equal(store.ranges.length - before, 1, 'and no other store read')
  for (const client of [alice, bob, ...readers]) await client.close()
})
