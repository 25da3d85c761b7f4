import t from 'tap'
import { MemoryBroker, MemoryBus } from '../../../src/engines/memory/memory-broker.js'
import { isSwitchboardError } from '../../../src/errors.js'
import { brokerConformance } from '../../../src/testing/index.js'

brokerConformance(t, 'MemoryBroker', async (count) => {
  const bus = new MemoryBus()
  const brokers = Array.from({ length: count }, () => new MemoryBroker({ bus }))
  return {
    brokers,
    cleanup: async () => {
      await Promise.all(brokers.map((broker) => broker.close()))
    },
  }
})

interface Received {
  channel: string
  payload: string
}

/** Records what `broker`'s listener receives; `until` resolves once `payload` has arrived. */
function inbox(broker: MemoryBroker, onReceive: (payload: string) => void = () => {}) {
  const received: Received[] = []
  const waiting = new Map<string, () => void>()
  broker.setListener((channel, payload) => {
    received.push({ channel, payload })
    waiting.get(payload)?.()
    onReceive(payload)
  })
  const until = (payload: string): Promise<void> =>
    received.some((r) => r.payload === payload)
      ? Promise.resolve()
      : new Promise((resolve) => waiting.set(payload, resolve))
  return { received, until }
}

t.test('MemoryBroker (memory-specific)', async (t) => {
  t.test('delivery › is asynchronous', async (t) => {
    const broker = new MemoryBroker()
    t.teardown(() => broker.close())
    const { received, until } = inbox(broker)
    await broker.subscribe('ch')
    const published = broker.publish('ch', 'x')
    t.same(received, [], 'nothing is delivered during publish')
    await published
    await until('x')
    t.same(received, [{ channel: 'ch', payload: 'x' }])
  })

  t.test('delivery › a listener that throws is reported and delivery goes on', async (t) => {
    const bus = new MemoryBus()
    const errors: { error: unknown; channel: string }[] = []
    const a = new MemoryBroker({ bus, onError: (error, channel) => errors.push({ error, channel }) })
    const b = new MemoryBroker({ bus })
    t.teardown(() => Promise.all([a.close(), b.close()]))
    const boom = new Error('boom')
    const aInbox = inbox(a, (payload) => {
      if (payload === 'boom') throw boom
    })
    const bInbox = inbox(b)
    await a.subscribe('ch')
    await b.subscribe('ch')
    await a.publish('ch', 'boom')
    await a.publish('ch', 'after')
    await aInbox.until('after')
    await bInbox.until('after')
    t.same(bInbox.received.map((r) => r.payload), ['boom', 'after'], 'the other node got everything')
    t.same(aInbox.received.map((r) => r.payload), ['boom', 'after'], 'the throwing node got later payloads')
    t.equal(errors.length, 1)
    t.equal(errors[0]?.error, boom)
    t.equal(errors[0]?.channel, 'ch')
  })

  t.test('delivery › by default a throwing listener becomes a process warning', async (t) => {
    const broker = new MemoryBroker()
    t.teardown(() => broker.close())
    broker.setListener(() => {
      throw new Error('listener failed')
    })
    const warned = new Promise<Error & { code?: string }>((resolve) => process.once('warning', resolve))
    await broker.subscribe('ch')
    await broker.publish('ch', 'x')
    const warning = await warned
    t.equal(warning.code, 'SWITCHBOARD_BROKER_LISTENER')
    t.match(warning.message, /"ch".*listener failed/)
  })

  t.test('bus › brokers without a shared bus do not reach each other', async (t) => {
    const a = new MemoryBroker()
    const b = new MemoryBroker()
    t.teardown(() => Promise.all([a.close(), b.close()]))
    const aInbox = inbox(a)
    const bInbox = inbox(b)
    await a.subscribe('ch')
    await b.subscribe('ch')
    await a.publish('ch', 'from a')
    await b.publish('ch', 'from b')
    await aInbox.until('from a')
    await bInbox.until('from b')
    t.same(aInbox.received.map((r) => r.payload), ['from a'])
    t.same(bInbox.received.map((r) => r.payload), ['from b'])
  })

  t.test('unsubscribe › drops payloads already in flight', async (t) => {
    const broker = new MemoryBroker()
    t.teardown(() => broker.close())
    const { received, until } = inbox(broker)
    await broker.subscribe('ch')
    await broker.subscribe('sentinel')
    const inFlight = broker.publish('ch', 'dropped')
    await broker.unsubscribe('ch')
    await inFlight
    await broker.publish('sentinel', 'stop')
    await until('stop')
    t.same(received, [{ channel: 'sentinel', payload: 'stop' }])
  })

  t.test('unsubscribe › subscribing again does not revive payloads in flight', async (t) => {
    const broker = new MemoryBroker()
    t.teardown(() => broker.close())
    const { received, until } = inbox(broker)
    await broker.subscribe('ch')
    const inFlight = broker.publish('ch', 'dropped')
    await broker.unsubscribe('ch')
    await broker.subscribe('ch')
    await inFlight
    await broker.publish('ch', 'kept')
    await until('kept')
    t.same(received, [{ channel: 'ch', payload: 'kept' }])
  })

  t.test('close › subscribe rejects with CLOSED, unsubscribe resolves', async (t) => {
    const broker = new MemoryBroker()
    await broker.subscribe('ch')
    await broker.close()
    const error = await broker.subscribe('other').then(() => undefined, (error: unknown) => error)
    t.ok(isSwitchboardError(error, 'CLOSED'), 'subscribe rejects with CLOSED')
    await broker.unsubscribe('ch')
    t.same(broker.channels(), [])
  })

  t.test('leaks › the bus forgets channels once every node has left them', async (t) => {
    const bus = new MemoryBus()
    const a = new MemoryBroker({ bus })
    const b = new MemoryBroker({ bus })
    t.teardown(() => Promise.all([a.close(), b.close()]))
    for (const ch of ['x', 'y', 'z']) await a.subscribe(ch)
    await b.subscribe('y')
    await b.subscribe('w')
    t.same(a.channels(), ['x', 'y', 'z'])
    t.equal(bus.channelCount, 4)
    for (const ch of ['x', 'y', 'z']) await a.unsubscribe(ch)
    t.same(a.channels(), [])
    t.equal(bus.channelCount, 2, 'channels b still holds remain')
    await b.close()
    t.same(b.channels(), [])
    t.equal(bus.channelCount, 0, 'nothing is left on the bus')
  })

  t.test('hasSubscribers › true while any broker on the bus is subscribed, and after close', async (t) => {
    const bus = new MemoryBus()
    const a = new MemoryBroker({ bus })
    const b = new MemoryBroker({ bus })
    t.teardown(() => Promise.all([a.close(), b.close()]))
    t.equal(a.hasSubscribers('ch'), false, 'nobody yet')
    await b.subscribe('ch')
    t.equal(a.hasSubscribers('ch'), true, "another node's subscription counts")
    t.equal(a.hasSubscribers('other'), false)
    await b.unsubscribe('ch')
    t.equal(a.hasSubscribers('ch'), false, 'gone with the last subscription')
    await a.close()
    t.equal(a.hasSubscribers('ch'), true, 'after close a publish is still tried (and rejects with CLOSED)')
  })
})
