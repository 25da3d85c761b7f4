import { MemoryMessageStore, SwitchboardError, type MessageStore } from '@switchboard/core'
import t from 'tap'
import { createClient, SwitchboardClientError } from '../src/node.js'
import { startNode, survivingStore, token, type TestNode } from './helpers/node.js'
import { connected, Inbox, nextState, range, within } from './helpers/wait.js'

const fast = { minDelayMs: 20, maxDelayMs: 100 }

/** A store whose `append` runs `after(input)` once the message is committed, before the reply. */
function tappedStore(inner: MessageStore, after: (input: { data: unknown }) => void): MessageStore {
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'append') {
        return async (input: Parameters<MessageStore['append']>[0]) => {
          const result = await target.append(input)
          after(input)
          return result
        }
      }
      const value = Reflect.get(target, property, target) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

const textOf = (data: unknown): string => (data as { text: string }).text

t.test('publish › while offline: queued, sent after reconnect, stored and delivered once', async t => {
  const store = survivingStore(new MemoryMessageStore())
  t.teardown(() => store.closeForReal())
  let node: TestNode = await startNode({ store })
  t.teardown(() => node.close())
  const alice = createClient({ url: node.url, getToken: () => token('alice'), reconnect: fast })
  const bob = createClient({ url: node.url, getToken: () => token('bob'), reconnect: fast })
  t.teardown(() => Promise.all([alice.close(), bob.close()]))
  const inbox = new Inbox(alice.channel('room:offline'))
  alice.connect()
  bob.connect()
  await alice.channel('room:offline').subscribe()
  await connected(bob)
  const down = nextState(bob, 'reconnecting')
  const port = node.port
  await node.close()
  await down
  const out = bob.channel('room:offline')
  const sent = range(20).map(i => out.publish({ text: `offline ${i}` }))
  t.equal(bob.pendingPublishes, 20, 'held while offline')
  await t.rejects(out.publish({ text: 'typing…' }, { volatile: true }), { code: 'DISCONNECTED' }, 'volatile publishes are dropped, not queued')
  node = await startNode({ store, port })
  const results = await within(Promise.all(sent), 15_000, 'the queued publishes')
  await inbox.waitFor(20)
  t.same(results.map(r => r.seq), range(20), 'stored once each, in call order')
  t.same(inbox.messages.map(m => textOf(m.data)), range(20).map(i => `offline ${i}`), 'delivered once each, in order')
  const history = await alice.channel('room:offline').history({ limit: 100 })
  t.equal(history.length, 20, 'the stream holds exactly 20 messages')
})

t.test('publish › the queue is bounded: past publishQueueLimit a publish rejects with QUEUE_FULL', async t => {
  const node = await startNode()
  t.teardown(() => node.close())
  const client = createClient({ url: node.url, getToken: () => token('bob'), publishQueueLimit: 3 })
  t.teardown(() => client.close())
  const out = client.channel('room:q')
  // Not connected yet: publishes wait.
  const queued = range(3).map(i => out.publish({ text: `q${i}` }))
  const error = await out.publish({ text: 'one too many' }).catch(e => e as SwitchboardClientError)
  t.match(error, { code: 'QUEUE_FULL', name: 'SwitchboardClientError' })
  client.connect()
  t.same((await Promise.all(queued)).map(r => r.seq), [1, 2, 3])
})

t.test('publish › a publish whose reply was lost is resent with the same key and stored once', async t => {
  let node!: TestNode
  let cut = false
  const store = tappedStore(new MemoryMessageStore(), input => {
    // The message is committed; the connection dies before `published` goes out.
    if (!cut && textOf(input.data) === 'lost reply') {
      cut = true
      node.terminateConnections()
    }
  })
  node = await startNode({ store })
  t.teardown(() => node.close())
  const alice = createClient({ url: node.url, getToken: () => token('alice'), reconnect: fast })
  const bob = createClient({ url: node.url, getToken: () => token('bob'), reconnect: fast })
  t.teardown(() => Promise.all([alice.close(), bob.close()]))
  const inbox = new Inbox(alice.channel('room:lost'))
  alice.connect()
  bob.connect()
  await alice.channel('room:lost').subscribe()
  const result = await within(bob.channel('room:lost').publish({ text: 'lost reply' }), 10_000, 'the resent publish')
  await bob.channel('room:lost').publish({ text: 'after' })
  await inbox.waitFor(2)
  t.ok(cut, 'the reply was lost')
  t.equal(result.seq, 1, 'the resend got the first attempt’s seq')
  t.same(inbox.messages.map(m => [m.seq, textOf(m.data)]), [[1, 'lost reply'], [2, 'after']], 'delivered once')
  t.equal(inbox.messages[0]!.mid, result.mid)
})

t.test('publish › INTERNAL after commit (unknown outcome) is retried with the same key: stored once', async t => {
  let failures = 0
  const store = tappedStore(new MemoryMessageStore(), input => {
    if (textOf(input.data) === 'flaky' && failures++ === 0) throw new SwitchboardError('INTERNAL')
  })
  const node = await startNode({ store })
  t.teardown(() => node.close())
  const alice = createClient({ url: node.url, getToken: () => token('alice'), reconnect: fast })
  const bob = createClient({ url: node.url, getToken: () => token('bob'), reconnect: fast })
  t.teardown(() => Promise.all([alice.close(), bob.close()]))
  const inbox = new Inbox(alice.channel('room:flaky'))
  alice.connect()
  bob.connect()
  await alice.channel('room:flaky').subscribe()
  const out = bob.channel('room:flaky')
  const first = await out.publish({ text: 'flaky' })
  t.equal(failures, 2, 'the first attempt failed, the retry answered')
  t.equal(first.seq, 1)
  // The failed attempt never reached the broker (see the report): the next live message carries
  // the server past the gap and the stream arrives whole.
  await out.publish({ text: 'next' })
  await inbox.waitFor(2)
  t.same(inbox.messages.map(m => [m.seq, textOf(m.data)]), [[1, 'flaky'], [2, 'next']])
  t.equal((await alice.channel('room:flaky').history()).length, 2, 'stored once')
})

t.test('publish › too large: refused before sending, and a 1009 close rejects the culprit only', async t => {
  const node = await startNode({ config: { maxPayloadBytes: 2048 } })
  t.teardown(() => node.close())
  const strict = createClient({ url: node.url, getToken: () => token('bob'), maxPayloadBytes: 2048 })
  const lax = createClient({ url: node.url, getToken: () => token('carol'), maxPayloadBytes: 1_000_000, reconnect: fast })
  t.teardown(() => Promise.all([strict.close(), lax.close()]))
  await t.rejects(strict.channel('room:big').publish({ text: 'x'.repeat(3000) }), { code: 'TOO_LARGE' })
  lax.connect()
  await nextState(lax, 'connected')
  const closed = nextState(lax, 'reconnecting')
  const big = lax.channel('room:big').publish({ text: 'é'.repeat(1500) })
  const small = lax.channel('room:big').publish({ text: 'fits' })
  await t.rejects(big, { code: 'TOO_LARGE' }, 'the oversized publish is rejected')
  t.equal((await closed).closeCode, 1009)
  t.match(await small, { seq: 1 }, 'the others are resent and succeed')
})

t.test('publish › errors carry the server’s code and details', async t => {
  const node = await startNode()
  t.teardown(() => node.close())
  const client = createClient({ url: node.url, getToken: () => token('bob') })
  t.teardown(() => client.close())
  client.connect()
  const error = (await client.channel('room:v').publish({ text: '' }).catch(e => e)) as SwitchboardClientError
  t.type(error, SwitchboardClientError)
  t.equal(error.code, 'VALIDATION')
  t.same(error.details, [{ path: 'text', message: 'Too small: expected string to have >=1 characters' }])
  t.equal(error.retryable, false)
  await t.rejects(client.channel('locked:x').publish({}), { code: 'FORBIDDEN' })
  await t.rejects(client.channel('nowhere:x').publish({}), { code: 'UNKNOWN_CHANNEL' })
  await t.rejects(client.channel('room:v').publish({ text: 'k' }, { key: 'k'.repeat(129) }), { code: 'BAD_FRAME' })
})

t.test('publish › an explicit key makes repeats idempotent across calls', async t => {
  const node = await startNode()
  t.teardown(() => node.close())
  const client = createClient({ url: node.url, getToken: () => token('bob') })
  t.teardown(() => client.close())
  client.connect()
  const out = client.channel('room:keys')
  const a = await out.publish({ text: 'once' }, { key: 'order-42' })
  const b = await out.publish({ text: 'once' }, { key: 'order-42' })
  t.same(b, a)
  t.equal((await out.history()).length, 1)
})

t.test('publish › close() rejects what is still queued with CLOSED', async t => {
  const client = createClient({ url: 'ws://127.0.0.1:9/ws', getToken: () => 'x' })
  const pending = client.channel('room:z').publish({ text: 'never sent' })
  await client.close()
  await t.rejects(pending, { code: 'CLOSED' })
  await t.rejects(client.channel('room:z').publish({ text: 'after close' }), { code: 'CLOSED' })
  t.throws(() => client.connect(), { code: 'CLOSED' })
})
