import t from 'tap'
import { createClient, type PublishResult } from '../src/node.js'
import type { TestChannels } from './helpers/channels.js'
import { startNode, token, type TestNode } from './helpers/node.js'
import { migratedSchema, prismaStore } from './helpers/postgres.js'
import { connected, Inbox, nextState, range, within } from './helpers/wait.js'

const fast = { minDelayMs: 20, maxDelayMs: 200 }
const N = 120

t.test('postgres › sockets killed, then the node restarted on the same database, while publishing: exactly once, in order', async t => {
  const schema = await migratedSchema(t)
  let node: TestNode = await startNode({ store: prismaStore(schema) })
  const port = node.port
  t.teardown(() => node.close())
  const alice = createClient<TestChannels>({ url: node.url, getToken: () => token('alice'), reconnect: fast })
  const bob = createClient<TestChannels>({ url: node.url, getToken: () => token('bob'), reconnect: fast })
  t.teardown(() => Promise.all([alice.close(), bob.close()]))
  const room = alice.channel('room:pg')
  const recoveries: boolean[] = []
  room.on('subscribed', e => recoveries.push(e.recovered))
  let restarted: Promise<void> | undefined
  const pending: number[] = []
  const inbox: Inbox<{ text: string; n?: number }> = new Inbox(room, (): void => {
    const count = inbox.messages.length
    if (count === 40 && pending.length === 0) {
      pending.push(bob.pendingPublishes)
      node.terminateConnections()
    }
    // Restart only once the subscriber resumed after the kill (handlers may run back to back).
    if (count >= 80 && recoveries.length === 2 && restarted === undefined) {
      pending.push(bob.pendingPublishes)
      restarted = (async () => {
        await node.close()
        node = await startNode({ store: prismaStore(schema), port })
      })()
    }
  })
  alice.connect()
  bob.connect()
  await room.subscribe()
  await connected(bob)
  const out = bob.channel('room:pg')
  const results: PublishResult[] = await within(Promise.all(range(N).map(i => out.publish({ text: `m${i}`, n: i }))), 45_000, 'every publish')
  await inbox.waitFor(N, 30_000)
  await restarted
  // Every message may have reached alice before she noticed the restart: wait for her resume.
  await within(
    new Promise<void>(resolve => {
      const check = (): void => {
        if (recoveries.length >= 3) resolve()
      }
      check()
      room.on('subscribed', check)
    }),
    30_000,
    'the resume after the restart',
  )
  t.equal(pending.length, 2, 'killed once, restarted once')
  t.ok(pending[0]! > 0, `publishes were in flight at the kill (unanswered at the kill and at the restart: ${pending.join(', ')})`)
  t.same(recoveries, [false, true, true], 'both resumes recovered from PostgreSQL')
  t.same(inbox.seqs, range(N), `the handler saw seqs 1..${N} once each, in order`)
  const texts = inbox.messages.map(m => m.data.text)
  t.same([...texts].sort(), range(N).map(i => `m${i}`).sort(), 'every published text exactly once')
  t.same(results.map(r => r.seq).sort((a, b) => a - b), range(N))
  const stored = [...(await room.history({ before: N - 99, limit: 100 })), ...(await room.history({ limit: 100 }))]
  t.equal(new Set(stored.map(m => m.seq)).size, N, `PostgreSQL holds exactly ${N} messages`)
})

t.test('postgres › an at-least-once inbox: offline publishes arrive once after the restart, acked in PostgreSQL', async t => {
  const schema = await migratedSchema(t)
  let node: TestNode = await startNode({ store: prismaStore(schema) })
  const port = node.port
  t.teardown(() => node.close())
  const bob = createClient({ url: node.url, getToken: () => token('bob'), reconnect: fast })
  t.teardown(() => bob.close())
  bob.connect()
  await connected(bob)
  const down = nextState(bob, 'reconnecting')
  await node.close()
  await down
  // Offline: queued by the SDK, sent after the node is back.
  const sent = Promise.all(range(10).map(i => bob.channel('inbox:alice').publish({ text: `note ${i}` })))
  node = await startNode({ store: prismaStore(schema), port })
  await within(sent, 15_000, 'the queued publishes')
  const alice = createClient({ url: node.url, getToken: () => token('alice') })
  const inbox = new Inbox(alice.channel('inbox:alice'))
  alice.connect()
  await alice.channel('inbox:alice').subscribe()
  await inbox.waitFor(10)
  t.same(inbox.seqs, range(10), 'delivered once each, in order, from the acked cursor (0)')
  await alice.close()
  t.equal(await node.switchboard.engines.store.cursor('inbox:alice', 'alice'), 10, 'the ack is in PostgreSQL')
})
