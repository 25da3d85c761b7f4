import t, { type Test } from 'tap'
import { EventEmitter, once } from 'node:events'
import { MemoryRedeliveryQueue } from '../../src/engines/memory/memory-redelivery-queue.js'
import { MemoryMessageStore } from '../../src/engines/memory/memory-message-store.js'
import type { RedeliveryHandler, RedeliveryJob } from '../../src/engines/queue.js'
import { startTestServer } from '../../src/testing/test-server.js'
import type { TestClient } from '../../src/testing/test-client.js'
import { dm } from '../channels/fixtures/test-channels.js'
import { StallingStore } from '../helpers/stalling-store.js'

/** The memory queue, reporting each job after its handler finished (so tests wait on events). */
class ObservedQueue extends MemoryRedeliveryQueue {
  readonly done = new EventEmitter()
  /** Every job handled so far. */
  readonly jobs: RedeliveryJob[] = []
  override process(handler: RedeliveryHandler): void {
    super.process(async job => {
      await handler(job)
      this.jobs.push(job)
      this.done.emit('job', job)
    })
  }
  /** Resolves when a job matching `match` has been handled (already, or later). */
  async handled(match: (job: RedeliveryJob) => boolean): Promise<RedeliveryJob> {
    const past = this.jobs.find(match)
    if (past) return past
    for (;;) {
      const [job] = (await once(this.done, 'job')) as [RedeliveryJob]
      if (match(job)) return job
    }
  }
}

async function setup(t: Test) {
  const queue = new ObservedQueue()
  const store = new MemoryMessageStore()
  const server = await startTestServer({
    channels: [dm],
    engines: { queue, store },
    // The ack in the first spec must land before the second check (at twice this, ±25%), even on a loaded machine.
    ackTimeoutMs: 300,
    redeliveryAttempts: 2,
  })
  t.teardown(() => server.close())
  return { server, queue, store }
}

const copies = (client: TestClient, seq: number): number =>
  client.frames.filter(f => f.type === 'message' && f.channel === 'dm:alice:bob' && f.seq === seq).length

t.test('redelivery › an unacknowledged message is sent again until acked, then no more', async t => {
  const { server, queue } = await setup(t)
  const alice = await server.connect('alice')
  const bob = await server.connect('bob')
  await bob.request({ type: 'subscribe', channel: 'dm:alice:bob' })
  await alice.request({ type: 'subscribe', channel: 'dm:alice:bob' })
  await alice.request({ type: 'publish', channel: 'dm:alice:bob', data: { text: 'hello' } })
  await bob.next(f => f.type === 'message' && copies(bob, 1) === 2, 'the redelivered copy')
  t.equal(copies(bob, 1), 2, 'delivered, then redelivered')
  t.equal(copies(alice, 1), 1, 'the publisher (not a recipient) gets no redelivery')
  bob.send({ type: 'ack', channel: 'dm:alice:bob', seq: 1 })
  t.match(await bob.request({ type: 'ping' }), { type: 'pong' }, 'the ack was handled')
  const next = await queue.handled(job => job.seq === 1 && job.attempt === 2)
  t.equal(next.user, 'bob')
  t.equal(copies(bob, 1), 2, 'the check after the ack sent nothing')
  t.equal(await server.switchboard.metrics.redeliveries.get().then(m => m.values[0]?.value), 1)
  await alice.close()
  await bob.close()
})

t.test('redelivery › after the last attempt the message is a dead letter, still delivered on the next subscribe', async t => {
  const { server, queue, store } = await setup(t)
  const alice = await server.connect('alice')
  const bob = await server.connect('bob')
  await bob.request({ type: 'subscribe', channel: 'dm:alice:bob' })
  await alice.request({ type: 'publish', channel: 'dm:alice:bob', data: { text: 'never acked' } })
  await queue.handled(job => job.seq === 1 && job.attempt === 3)
  t.equal(copies(bob, 1), 3, 'first delivery and two redeliveries')
  const letters = await store.deadLetters({ channel: 'dm:alice:bob' })
  t.match(letters, [{ channel: 'dm:alice:bob', seq: 1, user: 'bob', reason: 'max-attempts' }])
  t.equal(await server.switchboard.metrics.deadLetters.get().then(m => m.values[0]?.value), 1)
  await bob.close()
  const phone = await server.connect('bob')
  await phone.request({ type: 'subscribe', channel: 'dm:alice:bob' })
  const message = await phone.next('message', 'the replayed message', true)
  t.match(message, { seq: 1, data: { text: 'never acked' } }, 'the stream still delivers it')
  t.equal(await server.switchboard.rebuildRedeliveries(), 0, 'a dead letter is not chased again')
  await phone.close()
  await alice.close()
})

t.test('redelivery › checks lost by the queue are rebuilt from the store', async t => {
  const { server, queue } = await setup(t)
  const bob = await server.connect('bob')
  await bob.request({ type: 'subscribe', channel: 'dm:alice:bob' })
  // Published while no check can be scheduled for it: the queue "lost" it.
  const schedule = queue.schedule.bind(queue)
  queue.schedule = async () => {}
  await server.switchboard.publish('dm:alice:bob', { text: 'lost check' }, { from: 'alice' })
  await bob.next('message')
  queue.schedule = schedule
  t.equal(await server.switchboard.rebuildRedeliveries(), 1, 'one pending check rebuilt')
  await bob.next(f => f.type === 'message' && copies(bob, 1) === 2, 'the redelivered copy')
  t.equal(copies(bob, 1), 2)
  await bob.close()
})

t.test('redelivery › none reaches a subscription still being set up: subscribed comes first, the replay carries the message', async t => {
  const queue = new ObservedQueue()
  const store = new StallingStore()
  const server = await startTestServer({ channels: [dm], engines: { queue, store }, ackTimeoutMs: 300, redeliveryAttempts: 2 })
  t.teardown(() => server.close())
  const alice = await server.connect('alice')
  const bob = await server.connect('bob')
  await bob.request({ type: 'subscribe', channel: 'dm:alice:bob' })
  await alice.request({ type: 'publish', channel: 'dm:alice:bob', data: { text: 'never acked' } })
  await bob.next(f => f.type === 'message' && f.seq === 1, 'the first delivery')
  // Bob subscribes again; its setup stalls on the store while the first redelivery comes due.
  store.hold()
  const resubscribed = bob.request({ type: 'subscribe', channel: 'dm:alice:bob' })
  await store.stalled
  await queue.handled(job => job.seq === 1 && job.attempt === 1)
  t.equal(copies(bob, 1), 1, 'the redelivery was not sent into the setup')
  store.release('ok')
  t.match(await resubscribed, { type: 'subscribed', channel: 'dm:alice:bob' })
  await bob.next(f => f.type === 'message' && copies(bob, 1) >= 2, 'the replay after subscribed', true)
  const order = bob.frames.filter(f => f.channel === 'dm:alice:bob').map(f => `${f.type}${f.type === 'message' ? f.seq : ''}`)
  // Later redeliveries (the next attempt) may follow; the first four frames are the point.
  t.same(order.slice(0, 4), ['subscribed', 'message1', 'subscribed', 'message1'], 'subscribed, then the replay')
  await alice.close()
  await bob.close()
})

t.test('redelivery › a queue that cannot schedule (its Redis down) holds up no publish and no dispatch slot', async t => {
  /** The memory queue with its Redis "down": `schedule` waits until `recover()`, as BullMQ does with maxRetriesPerRequest null. */
  class StalledQueue extends MemoryRedeliveryQueue {
    #down: Promise<void> | undefined
    #up: (() => void) | undefined
    scheduleCalls = 0
    stall(): void {
      this.#down = new Promise(resolve => (this.#up = resolve))
    }
    recover(): void {
      this.#up?.()
      this.#down = undefined
    }
    override async schedule(job: RedeliveryJob, delayMs: number): Promise<void> {
      this.scheduleCalls += 1
      if (this.#down) await this.#down
      return super.schedule(job, delayMs)
    }
  }
  const queue = new StalledQueue()
  queue.stall()
  // One dispatch slot, and a deadline far away: a publish that held its slot until scheduling ended would stop the node.
  const server = await startTestServer({ channels: [dm], engines: { queue }, dispatchConcurrency: 1, handlerDeadlineMs: 600_000 })
  t.teardown(() => {
    queue.recover()
    return server.close()
  })
  const alice = await server.connect('alice')
  const bob = await server.connect('bob')
  await bob.request({ type: 'subscribe', channel: 'dm:alice:bob' })
  for (let i = 1; i <= 3; i++) {
    t.match(await alice.request({ type: 'publish', channel: 'dm:alice:bob', data: { text: `m${i}` } }), { type: 'published', seq: i })
  }
  t.ok(queue.scheduleCalls >= 3, `scheduling was started (${queue.scheduleCalls} calls), and is still waiting`)
  t.match(await bob.request({ type: 'history', channel: 'dm:alice:bob' }), { type: 'history' }, 'other frames still get a slot')
  await bob.next(f => f.type === 'message' && f.seq === 3, 'the live messages', true)
})
