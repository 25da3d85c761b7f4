import t from 'tap'
import { MemoryBroker } from '../../src/engines/memory/memory-broker.js'
import { startTestServer } from '../../src/testing/test-server.js'
import { room } from './fixtures/test-channels.js'

/** A memory broker that can lose what is published (a Redis link that is down) and report a reconnect, as the Redis broker does. */
class LossyBroker extends MemoryBroker {
  dropping = false
  readonly #reconnectListeners = new Set<() => void>()
  override async publish(channel: string, payload: string): Promise<void> {
    if (!this.dropping) await super.publish(channel, payload)
  }
  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener)
    return () => void this.#reconnectListeners.delete(listener)
  }
  /** The link is back: what was published meanwhile is lost, as Redis pub/sub loses it. */
  reconnected(): void {
    this.dropping = false
    for (const listener of this.#reconnectListeners) listener()
  }
}

t.test('broker reconnect › subscribers get what was published while the broker was down, from the store', async t => {
  const broker = new LossyBroker()
  const server = await startTestServer({ channels: [room], engines: { broker } })
  t.teardown(() => server.close())
  const reader = await server.connect('reader')
  const writer = await server.connect('writer')
  // One channel empty at subscribe (the reader's last seq is 0), one not.
  await writer.request({ type: 'publish', channel: 'room:old', data: { text: 'before' } })
  t.match(await reader.request({ type: 'subscribe', channel: 'room:new' }), { type: 'subscribed', seq: 0 })
  t.match(await reader.request({ type: 'subscribe', channel: 'room:old' }), { type: 'subscribed', seq: 1 })
  broker.dropping = true
  for (const channel of ['room:new', 'room:old']) {
    for (const text of ['lost 1', 'lost 2']) await writer.request({ type: 'publish', channel, data: { text } })
  }
  t.match(await reader.request({ type: 'ping' }), { type: 'pong' })
  t.same(reader.frames.filter(f => f.type === 'message'), [], 'nothing arrived while the broker was down')
  broker.reconnected()
  await reader.next(f => f.type === 'message' && f.channel === 'room:new' && f.seq === 2, 'room:new filled', true)
  await reader.next(f => f.type === 'message' && f.channel === 'room:old' && f.seq === 3, 'room:old filled', true)
  const seqs = (channel: string): unknown[] => reader.frames.filter(f => f.type === 'message' && f.channel === channel).map(f => f.seq)
  t.same(seqs('room:new'), [1, 2], 'the channel that was empty at subscribe: from seq 1')
  t.same(seqs('room:old'), [2, 3])
})
