import { MemoryMessageStore } from '@switchboard/core'
import t, { type Test } from 'tap'
import { createClient, type PublishResult } from '../src/node.js'
import { startNode, survivingStore, token, type TestNode } from './helpers/node.js'
import { Inbox, nextState, range, within } from './helpers/wait.js'

const N = 300
const fast = { minDelayMs: 20, maxDelayMs: 200 }

/** A subscriber and a publisher on `url`; the subscriber's handler runs `onMessage` for each message. */
async function pair(t: Test, url: string, channel: string, onMessage: (count: number) => void) {
  const subscriber = createClient({ url, getToken: () => token('alice'), reconnect: fast })
  const publisher = createClient({ url, getToken: () => token('bob'), reconnect: fast })
  t.teardown(() => Promise.all([subscriber.close(), publisher.close()]))
  const received = subscriber.channel(channel)
  const inbox: Inbox = new Inbox(received, (): void => onMessage(inbox.messages.length))
  const recoveries: boolean[] = []
  received.on('subscribed', e => recoveries.push(e.recovered))
  /** Resolves once the channel has been `subscribed` `n` times (the first subscribe included). */
  const subscribedTimes = (n: number): Promise<void> =>
    new Promise(resolve => {
      const check = (): void => {
        if (recoveries.length >= n) resolve()
      }
      check()
      received.on('subscribed', check)
    })
  subscriber.connect()
  publisher.connect()
  await received.subscribe()
  return { subscriber, publisher, inbox, recoveries, subscribedTimes, out: publisher.channel(channel) }
}

/** Checks the stream the subscriber saw: seqs 1..N, each text once, matching what the publishes resolved with. */
function checkExactlyOnce(t: Test, inbox: Inbox, results: PublishResult[]): void {
  t.same(inbox.seqs, range(N), `the handler saw seqs 1..${N} once each, in order`)
  const texts = inbox.messages.map(m => (m.data as { text: string }).text)
  t.equal(new Set(texts).size, N, 'no text twice')
  t.same([...texts].sort(), range(N).map(i => `m${i}`).sort(), 'every published text')
  t.same(results.map(r => r.seq).sort((a, b) => a - b), range(N), 'the publishes resolved with seqs 1..N, each once')
  const bySeq = new Map(inbox.messages.map(m => [m.seq, m.mid]))
  t.ok(results.every(r => bySeq.get(r.seq) === r.mid), 'each publish’s {seq, mid} is the message delivered')
}

t.test('reconnect › sockets killed mid-stream: the handler sees every message exactly once, in order', async t => {
  const node = await startNode()
  t.teardown(() => node.close())
  const kills: number[] = []
  const pendingAtKill: number[] = []
  const kill = (): void => {
    pendingAtKill.push(publisher.pendingPublishes)
    kills.push(node.terminateConnections())
  }
  // Drop every open connection (no close frame) a third of the way through, and again once the
  // subscriber has resumed and half the stream is through. Handlers run back to back in one turn
  // of the event loop, so the second kill waits for the resume rather than for a count alone.
  const { subscriber, publisher, inbox, recoveries, subscribedTimes, out } = await pair(t, node.url, 'room:kill', count => {
    if (kills.length === 0 && count >= 100) kill()
    else if (kills.length === 1 && recoveries.length === 2 && count >= 150) kill()
  })
  const reconnects: string[] = []
  subscriber.on('state', c => c.state === 'reconnecting' && reconnects.push(`alice:${c.reason}:${c.closeCode}`))
  publisher.on('state', c => c.state === 'reconnecting' && reconnects.push(`bob:${c.reason}:${c.closeCode}`))
  const results = await within(Promise.all(range(N).map(i => out.publish({ text: `m${i}`, n: i }))), 30_000, 'every publish')
  await inbox.waitFor(N)
  // Every message may have reached the subscriber before it noticed the second kill: wait for its resume.
  await within(subscribedTimes(3), 30_000, 'the resume after the second kill')
  t.equal(kills.length, 2, 'killed twice')
  t.equal(kills[0], 2, 'the first kill dropped both connections')
  t.ok(pendingAtKill[0]! > 0, `publishes were unanswered at the first kill (${pendingAtKill.join(', ')} at each kill)`)
  t.equal(reconnects.filter(r => r.startsWith('alice')).length, 2, `the subscriber reconnected twice (${reconnects.join(', ')})`)
  t.ok(reconnects.every(r => r.endsWith('socket-closed:1006')), 'after an abnormal close')
  t.same(recoveries, [false, true, true], 'first subscribe, then two recovered resumes')
  checkExactlyOnce(t, inbox, results)
})

t.test('reconnect › the server restarts while messages are published: exactly once, in order', async t => {
  const store = survivingStore(new MemoryMessageStore())
  t.teardown(() => store.closeForReal())
  let node: TestNode = await startNode({ store })
  const port = node.port
  t.teardown(() => node.close())
  let restarts: Promise<void> | undefined
  let pendingAtRestart = 0
  const restart = async (): Promise<void> => {
    pendingAtRestart = publisher.pendingPublishes
    await node.close()
    node = await startNode({ store, port })
  }
  const { subscriber, publisher, inbox, recoveries, out } = await pair(t, node.url, 'room:restart', count => {
    if (count === 120) restarts = restart()
  })
  const goingAway = nextState(subscriber, 'reconnecting')
  const results = await within(Promise.all(range(N).map(i => out.publish({ text: `m${i}`, n: i }))), 40_000, 'every publish')
  await inbox.waitFor(N)
  await restarts
  const change = await goingAway
  t.equal(change.reason, 'server-going-away', 'the node said it was shutting down (1001)')
  t.equal(change.closeCode, 1001)
  t.same(recoveries, [false, true], 'the resume on the new node recovered')
  t.ok(pendingAtRestart > 0, `publishes were still unanswered when the node went down (${pendingAtRestart})`)
  checkExactlyOnce(t, inbox, results)
})

t.test('reconnect › a server that closes right after connected is retried with growing delays, not at the first delay each time', async t => {
  // Every connection is closed just after its `connected` (as a rate-limited or failing server would).
  const node = await startNode({ config: { hooks: { onConnect: session => void setTimeout(() => session.close(1011, 'failing'), 0) } } })
  t.teardown(() => node.close())
  const client = createClient({ url: node.url, getToken: () => token('alice'), reconnect: { minDelayMs: 10, maxDelayMs: 5_000, factor: 2 } })
  t.teardown(() => client.close())
  const delays: number[] = []
  const enough = new Promise<void>(resolve =>
    client.on('state', change => {
      if (change.state === 'reconnecting' && change.delayMs !== undefined) delays.push(change.delayMs)
      if (delays.length === 8) resolve()
    }),
  )
  client.connect()
  await within(enough, 30_000, 'eight reconnects')
  // Reset at every `connected`, each delay would be 10–20 ms; growing, retry n may wait up to 10 + 10 × 2^n.
  t.ok(Math.max(...delays) > 20, `the delays grew: ${delays.join(', ')} ms`)
})
