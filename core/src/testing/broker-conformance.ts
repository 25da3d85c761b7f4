import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import type { Broker } from '../engines/broker.js'
import { rejectsClosed } from './conformance-helpers.js'

/** What a conformance run's factory returns: `count` connected nodes and how to tear them down. */
export interface BrokerNodes {
  /** One broker per node, all reaching each other (one cluster). */
  readonly brokers: Broker[]
  /** Closes whatever the factory opened (may assume some brokers are already closed). */
  cleanup(): Promise<void>
}

/** Options of {@link brokerConformance}. */
export interface BrokerConformanceOptions {
  /** How long one wait for a payload may take before the test fails, in ms. Default: 5000. */
  timeoutMs?: number
}

interface Received {
  readonly channel: string
  readonly payload: string
}

/** A node under test: its broker and what its listener has received so far. */
interface Node {
  readonly broker: Broker
  readonly received: Received[]
  /** Resolves once `done(received)` holds; rejects after the timeout, naming `what`. */
  waitFor(what: string, done: (received: readonly Received[]) => boolean): Promise<void>
}

type Tuple<N extends number, T, R extends T[] = []> = R['length'] extends N ? R : Tuple<N, T, [...R, T]>

/**
 * Registers, under a subtest named `name` (e.g. `'RedisBroker'`), one tap subtest per behaviour
 * promised by the {@link Broker} doc comment. Each subtest calls `makeNodes(count)` for fresh
 * nodes of one cluster and tears them down afterwards; channel names are unique per run.
 * Tests wait for payloads, never for time; "receives nothing" is checked by publishing, from
 * the same node, a sentinel to a subscribed channel afterwards and asserting only it arrives,
 * which relies on one publisher's payloads arriving in publish order across channels too.
 * Resolves when every subtest has finished.
 */
export async function brokerConformance(
  t: Test,
  name: string,
  makeNodes: (count: number) => Promise<BrokerNodes>,
  options: BrokerConformanceOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000
  const run = randomUUID()
  const channel = (label: string): string => `conformance:${run}:${label}`

  function watch(broker: Broker, index: number): Node {
    const received: Received[] = []
    const waiters = new Set<() => void>()
    broker.setListener((channel, payload) => {
      received.push({ channel, payload })
      for (const check of [...waiters]) check()
    })
    const waitFor = (what: string, done: (received: readonly Received[]) => boolean): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`node ${index}: no ${what} within ${timeoutMs} ms; received ${JSON.stringify(received)}`))
        }, timeoutMs)
        const check = (): void => {
          if (!done(received)) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
        check()
      })
    return { broker, received, waitFor }
  }

  async function open<N extends number>(t: Test, count: N): Promise<Tuple<N, Node>> {
    const { brokers, cleanup } = await makeNodes(count)
    t.teardown(cleanup)
    if (brokers.length !== count) throw new Error(`makeNodes(${count}) returned ${brokers.length} brokers`)
    return brokers.map(watch) as Tuple<N, Node>
  }

  const payloads = (received: readonly Received[], on: string): string[] =>
    received.filter((r) => r.channel === on).map((r) => r.payload)
  const has = (on: string, payload: string) => (received: readonly Received[]) =>
    received.some((r) => r.channel === on && r.payload === payload)
  const count = (on: string, n: number) => (received: readonly Received[]) => payloads(received, on).length >= n

  await t.test(name, async (t) => {
    t.test('publish › reaches every subscribed node, the publisher included', async (t) => {
      const nodes = await open(t, 3)
      const ch = channel('fan-out')
      for (const node of nodes) await node.broker.subscribe(ch)
      await nodes[0].broker.publish(ch, 'hello')
      for (const node of nodes) await node.waitFor('hello', has(ch, 'hello'))
      for (const node of nodes) t.same(node.received, [{ channel: ch, payload: 'hello' }])
    })

    t.test('publish › delivers channel and payload unchanged', async (t) => {
      const [a, b] = await open(t, 2)
      const ch = channel('bytes/ü-✓')
      const payload = JSON.stringify({ text: 'héllo ✓ 🎉 "quoted" \\ \n', pad: 'x'.repeat(64 * 1024) })
      await b.broker.subscribe(ch)
      await a.broker.publish(ch, payload)
      await b.waitFor('the payload', count(ch, 1))
      t.same(b.received, [{ channel: ch, payload }])
    })

    t.test('publish › keeps each publisher’s order on a channel, calls not awaited', async (t) => {
      const nodes = await open(t, 3)
      const ch = channel('order')
      const n = 200
      for (const node of nodes) await node.broker.subscribe(ch)
      const sends: Promise<void>[] = []
      for (let i = 0; i < n; i++) {
        sends.push(nodes[0].broker.publish(ch, `a${i}`), nodes[1].broker.publish(ch, `b${i}`))
      }
      await Promise.all(sends)
      const expected = (prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`)
      for (const [index, node] of nodes.entries()) {
        await node.waitFor(`${2 * n} payloads`, count(ch, 2 * n))
        const got = payloads(node.received, ch)
        t.same(got.filter((p) => p.startsWith('a')), expected('a'), `node ${index} got node 0's payloads in order`)
        t.same(got.filter((p) => p.startsWith('b')), expected('b'), `node ${index} got node 1's payloads in order`)
      }
    })

    t.test('publish › resolves when no node is subscribed', async (t) => {
      const [a] = await open(t, 1)
      await a.broker.publish(channel('nobody'), 'x')
      t.same(a.received, [])
    })

    t.test('subscribe › a payload published right after it resolves is received', async (t) => {
      const [a, b] = await open(t, 2)
      const ch = channel('fresh')
      await b.broker.subscribe(ch)
      await a.broker.publish(ch, 'first')
      await b.waitFor('first', has(ch, 'first'))
      t.same(payloads(b.received, ch), ['first'])
    })

    t.test('subscribe › is idempotent', async (t) => {
      const [a, b] = await open(t, 2)
      const ch = channel('twice')
      const sentinel = channel('sentinel')
      await b.broker.subscribe(ch)
      await b.broker.subscribe(ch)
      await Promise.all([b.broker.subscribe(ch), b.broker.subscribe(ch), b.broker.subscribe(sentinel)])
      await a.broker.publish(ch, 'once')
      await a.broker.publish(ch, 'end')
      await b.waitFor('end', has(ch, 'end'))
      t.same(payloads(b.received, ch), ['once', 'end'], 'each payload arrives once')

      await b.broker.unsubscribe(ch)
      await a.broker.publish(ch, 'after')
      await a.broker.publish(sentinel, 'stop')
      await b.waitFor('the sentinel', has(sentinel, 'stop'))
      t.same(payloads(b.received, ch), ['once', 'end'], 'one unsubscribe undoes many subscribes')
    })

    t.test('unsubscribe › stops delivery for that channel only', async (t) => {
      const [a, b] = await open(t, 2)
      const gone = channel('gone')
      const kept = channel('kept')
      await b.broker.subscribe(gone)
      await b.broker.subscribe(kept)
      await a.broker.subscribe(gone)
      await b.broker.unsubscribe(gone)
      await a.broker.publish(gone, 'dropped')
      await a.broker.publish(kept, 'sentinel')
      await a.waitFor('its own payload', has(gone, 'dropped'))
      await b.waitFor('the sentinel', has(kept, 'sentinel'))
      t.same(b.received, [{ channel: kept, payload: 'sentinel' }])
    })

    t.test('unsubscribe › is idempotent, also for channels never subscribed', async (t) => {
      const [a, b] = await open(t, 2)
      const ch = channel('unsub')
      const sentinel = channel('sentinel')
      await b.broker.subscribe(ch)
      await b.broker.subscribe(sentinel)
      await b.broker.unsubscribe(ch)
      await b.broker.unsubscribe(ch)
      await Promise.all([b.broker.unsubscribe(ch), b.broker.unsubscribe(channel('never'))])
      await a.broker.publish(ch, 'dropped')
      await a.broker.publish(sentinel, 'stop')
      await b.waitFor('the sentinel', has(sentinel, 'stop'))
      t.same(b.received, [{ channel: sentinel, payload: 'stop' }])
    })

    t.test('receives nothing for channels it never subscribed to', async (t) => {
      const [a, b] = await open(t, 2)
      const theirs = channel('theirs')
      const mine = channel('mine')
      await a.broker.subscribe(theirs)
      await b.broker.subscribe(mine)
      await a.broker.publish(theirs, 'not for b')
      await a.broker.publish(mine, 'sentinel')
      await a.waitFor('its own payload', has(theirs, 'not for b'))
      await b.waitFor('the sentinel', has(mine, 'sentinel'))
      t.same(b.received, [{ channel: mine, payload: 'sentinel' }])
    })

    t.test('setListener › the latest listener receives payloads', async (t) => {
      const [a, b] = await open(t, 2)
      const ch = channel('listener')
      const replacement = watch(b.broker, 1)
      await b.broker.subscribe(ch)
      await a.broker.publish(ch, 'x')
      await replacement.waitFor('x', has(ch, 'x'))
      t.same(b.received, [], 'the replaced listener is not called')
      t.same(replacement.received, [{ channel: ch, payload: 'x' }])
    })

    t.test('close › no listener is called afterwards, even for payloads in flight', async (t) => {
      const [a, b, c] = await open(t, 3)
      const ch = channel('closing')
      await b.broker.subscribe(ch)
      await c.broker.subscribe(ch)
      const inFlight = a.broker.publish(ch, 'in flight')
      await b.broker.close()
      await inFlight
      await a.broker.publish(ch, 'after')
      await c.waitFor('both payloads', count(ch, 2))
      t.same(payloads(c.received, ch), ['in flight', 'after'], 'other nodes keep receiving')
      t.same(b.received, [], 'the closed node heard nothing')
    })

    t.test('close › publish rejects with CLOSED', async (t) => {
      const [a] = await open(t, 1)
      await a.broker.close()
      await rejectsClosed(t, () => a.broker.publish(channel('closed'), 'x'))
    })

    t.test('close › is idempotent', async (t) => {
      const [a] = await open(t, 1)
      await a.broker.subscribe(channel('idle'))
      await a.broker.close()
      await a.broker.close()
      await Promise.all([a.broker.close(), a.broker.close()])
      t.pass('closing again resolves')
    })
  })
}
