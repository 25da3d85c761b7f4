import t, { type Test } from 'tap'
import { createClient } from '../src/node.js'
import { startNode, token } from './helpers/node.js'
import { ObservedQueue } from './helpers/observed-queue.js'
import { spySockets } from './helpers/spy-socket.js'
import { Inbox, range, within } from './helpers/wait.js'

/** A node whose at-least-once checks run fast: first after 200 ms, then every 200–400 ms, 50 times. */
async function ackNode(t: Test) {
  const queue = new ObservedQueue()
  const node = await startNode({ config: { ackTimeoutMs: 200, redeliveryMaxDelayMs: 400, redeliveryAttempts: 50, engines: { queue } } })
  t.teardown(() => node.close())
  const bob = createClient({ url: node.url, getToken: () => token('bob') })
  t.teardown(() => bob.close())
  bob.connect()
  const cursor = () => node.switchboard.engines.store.cursor('inbox:alice', 'alice')
  return { url: node.url, queue, cursor, toAlice: bob.channel('inbox:alice') }
}

const copiesOf = (frames: { type: string; seq?: unknown }[], seq: number): number => frames.filter(f => f.type === 'message' && f.seq === seq).length

t.test('acks › automatic: each message acked after its handler, so no redelivery is left pending', async t => {
  const { url, queue, cursor, toAlice } = await ackNode(t)
  const spy = spySockets()
  const alice = createClient({ url, WebSocket: spy.WebSocket, getToken: () => token('alice') })
  t.teardown(() => alice.close())
  const inbox = new Inbox(alice.channel('inbox:alice'))
  alice.connect()
  await alice.channel('inbox:alice').subscribe()
  await Promise.all(range(10).map(i => toAlice.publish({ text: `n${i}` })))
  await inbox.waitFor(10)
  await within(queue.idle(), 10_000, 'every redelivery check to finish')
  t.equal(await cursor(), 10, 'the server recorded the cumulative ack')
  t.same(inbox.seqs, range(10), 'the handler saw each message once')
  t.ok(queue.checks >= 10, `every message was checked (${queue.checks} checks)`)
})

t.test('acks › manual: unacked messages are redelivered (the app still sees each once) until ack(seq)', async t => {
  const { url, queue, cursor, toAlice } = await ackNode(t)
  const spy = spySockets()
  const alice = createClient({ url, WebSocket: spy.WebSocket, getToken: () => token('alice'), ackMode: 'manual' })
  t.teardown(() => alice.close())
  const channel = alice.channel('inbox:alice')
  const inbox = new Inbox(channel)
  alice.connect()
  await channel.subscribe()
  await Promise.all(range(5).map(i => toAlice.publish({ text: `n${i}` })))
  await inbox.waitFor(5)
  // Wait for the server to send seq 5 a second time, then a third.
  await within(spy.next(f => f.type === 'message' && f.seq === 5 && copiesOf(spy.received, 5) >= 3), 10_000, 'two redeliveries of seq 5')
  t.same(inbox.seqs, range(5), 'redeliveries were dropped: the handler saw each message once')
  t.equal(await cursor(), 0, 'nothing acked yet')
  channel.ack(5)
  await within(queue.idle(), 10_000, 'the checks to stop after the ack')
  t.equal(await cursor(), 5, 'the ack reached the server')
  t.same(inbox.seqs, range(5))
})

t.test('acks › a slow async handler delays the ack; its redelivery is not handled twice', async t => {
  const { url, queue, cursor, toAlice } = await ackNode(t)
  const spy = spySockets()
  let release!: () => void
  const gate = new Promise<void>(resolve => (release = resolve))
  const alice = createClient({ url, WebSocket: spy.WebSocket, getToken: () => token('alice') })
  t.teardown(() => alice.close())
  const channel = alice.channel('inbox:alice')
  const handled: number[] = []
  channel.on('message', async message => {
    await gate
    handled.push(message.seq)
  })
  alice.connect()
  await channel.subscribe()
  await toAlice.publish({ text: 'slow' })
  await within(spy.next(f => f.type === 'message' && f.seq === 1 && copiesOf(spy.received, 1) >= 2), 10_000, 'a redelivery while the handler runs')
  release()
  await channel.idle()
  await within(queue.idle(), 10_000, 'the checks to stop')
  t.same(handled, [1], 'handled once')
  t.equal(await cursor(), 1)
})

t.test('acks › messages sent while the recipient was offline arrive on its next connection, from its acked cursor', async t => {
  const { url, cursor, toAlice } = await ackNode(t)
  await Promise.all(range(3).map(i => toAlice.publish({ text: `early ${i}` })))
  const first = createClient({ url, getToken: () => token('alice') })
  const firstInbox = new Inbox(first.channel('inbox:alice'))
  first.connect()
  await first.channel('inbox:alice').subscribe()
  await firstInbox.waitFor(3)
  t.same(firstInbox.seqs, [1, 2, 3], 'the offline messages, in order')
  await first.close() // flushes the pending ack
  t.equal(await cursor(), 3)
  await Promise.all(range(2).map(i => toAlice.publish({ text: `late ${i}` })))
  const second = createClient({ url, getToken: () => token('alice') })
  t.teardown(() => second.close())
  const secondInbox = new Inbox(second.channel('inbox:alice'))
  second.connect()
  await second.channel('inbox:alice').subscribe()
  await secondInbox.waitFor(2)
  t.same(secondInbox.seqs, [4, 5], 'only what was not acked')
})
