import { randomUUID } from 'node:crypto'
import { Redis, type RedisOptions } from 'ioredis'
import t, { type Test } from 'tap'
import { RedisBroker, type RedisBrokerState } from '../../../src/engines/redis/redis-broker.js'
import { closeClient } from '../../../src/engines/redis/redis-connection.js'
import { isSwitchboardError } from '../../../src/errors.js'
import { brokerConformance } from '../../../src/testing/broker-conformance.js'
import { clientIds, closeAdmin, killClients, openAdmin, REDIS_URL, testPrefix } from './redis-test-kit.js'

const prefix = testPrefix('broker')
const admin = openAdmin()
t.teardown(() => closeAdmin(admin, prefix))

for (const sharded of [false, true]) {
  brokerConformance(t, sharded ? 'RedisBroker (sharded)' : 'RedisBroker', async (count) => {
    const brokers = Array.from({ length: count }, () => new RedisBroker({ redis: REDIS_URL, prefix, sharded }))
    return {
      brokers,
      cleanup: async () => {
        await Promise.all(brokers.map((broker) => broker.close()))
      },
    }
  })
}

/** What a broker's listener received, and a way to wait for a payload. */
function inbox(broker: RedisBroker) {
  const received: string[] = []
  const waiting = new Map<string, () => void>()
  broker.setListener((_channel, payload) => {
    received.push(payload)
    waiting.get(payload)?.()
  })
  const until = (payload: string): Promise<void> =>
    received.includes(payload) ? Promise.resolve() : new Promise((resolve) => waiting.set(payload, resolve))
  return { received, until }
}

/** Resolves when `broker` reaches `state`. */
function reaches(broker: RedisBroker, state: RedisBrokerState): Promise<void> {
  if (broker.state === state) return Promise.resolve()
  return new Promise((resolve) => {
    const stop = broker.onStateChange((now) => {
      if (now !== state) return
      stop()
      resolve()
    })
  })
}

/** A connected client named uniquely, to be duplicated by brokers (so the test can find their connections). */
async function namedClient(t: Test, options: RedisOptions = {}): Promise<{ client: Redis; name: string }> {
  const name = `sbtest-${randomUUID().slice(0, 8)}`
  const client = new Redis(REDIS_URL, { ...options, connectionName: name })
  t.teardown(() => closeClient(client))
  await client.ping()
  return { client, name }
}

/** How many of this node's connections Redis counts as subscribed to `channel`. */
async function subscribers(channel: string, sharded: boolean): Promise<number> {
  const reply = (await admin.call('PUBSUB', sharded ? 'SHARDNUMSUB' : 'NUMSUB', `${prefix}:ch:${channel}`)) as [
    string,
    number,
  ]
  return Number(reply[1])
}

t.test('RedisBroker (Redis-specific)', async (t) => {
  for (const sharded of [false, true]) {
    const mode = sharded ? 'sharded' : 'plain'
    t.test(`traffic › a node gets no Redis traffic for channels it does not serve (${mode})`, async (t) => {
      const open = (): RedisBroker => new RedisBroker({ redis: REDIS_URL, prefix, sharded })
      const [a, b, c] = [open(), open(), open()]
      t.teardown(() => Promise.all([a.close(), b.close(), c.close()]))
      const ch = `traffic:${randomUUID()}`
      const sentinel = `sentinel:${randomUUID()}`
      const [bInbox, cInbox] = [inbox(b), inbox(c)]
      inbox(a)
      await a.subscribe(ch)
      await b.subscribe(ch)
      await c.subscribe(sentinel)
      t.equal(await subscribers(ch, sharded), 2, 'Redis has two subscribers of the channel: a and b')
      for (let i = 0; i < 50; i++) void a.publish(ch, `m${i}`)
      await a.publish(sentinel, 'stop')
      await bInbox.until('m49')
      await cInbox.until('stop')
      t.equal(b.receivedCount(ch), 50)
      t.same(c.stats(), { received: 1, unexpected: 0, published: 0, local: 0, reconnects: 0 }, 'c received the sentinel only')
      t.equal(c.receivedCount(ch), 0)
      await a.unsubscribe(ch)
      await b.unsubscribe(ch)
      t.equal(await subscribers(ch, sharded), 0, 'the last unsubscribe leaves Redis with none')
    })
  }

  t.test('reconnect › the subscriber resubscribes every channel, then onReconnect is called', async (t) => {
    const { client: baseA } = await namedClient(t)
    const { client: baseB, name } = await namedClient(t)
    const a = new RedisBroker({ redis: baseA, prefix })
    const b = new RedisBroker({ redis: baseB, prefix })
    t.teardown(() => Promise.all([a.close(), b.close()]))
    const chs = [`rc:${randomUUID()}`, `rc:${randomUUID()}`]
    const bInbox = inbox(b)
    for (const ch of chs) await b.subscribe(ch)
    await a.publish(chs[0] as string, 'before')
    await bInbox.until('before')
    const reconnected = new Promise<RedisBrokerState>((resolve) => b.onReconnect(() => resolve(b.state)))
    t.equal(await killClients(admin, `${name}:broker-sub`), 1, 'the subscriber connection was killed')
    t.equal(await reconnected, 'live', 'onReconnect is called once live again')
    for (const ch of chs) await a.publish(ch, `after ${ch}`)
    for (const ch of chs) await bInbox.until(`after ${ch}`)
    t.same(bInbox.received, ['before', ...chs.map((ch) => `after ${ch}`)])
    t.equal(b.stats().reconnects, 1)
    t.equal(a.stats().reconnects, 0, 'the other node did not reconnect')
  })

  t.test('down › this node’s subscribers are still served; no duplicate once back', async (t) => {
    // A slow retry keeps b down long enough to publish while it is.
    const { client: base, name } = await namedClient(t, { retryStrategy: () => 1500 })
    const a = new RedisBroker({ redis: REDIS_URL, prefix })
    const b = new RedisBroker({ redis: base, prefix })
    t.teardown(() => Promise.all([a.close(), b.close()]))
    const ch = `down:${randomUUID()}`
    const [aInbox, bInbox] = [inbox(a), inbox(b)]
    await a.subscribe(ch)
    await b.subscribe(ch)
    await reaches(b, 'live')
    const states: RedisBrokerState[] = []
    b.onStateChange((state) => states.push(state))
    const down = reaches(b, 'down')
    const reconnected = new Promise<void>((resolve) => b.onReconnect(resolve))
    await killClients(admin, `${name}:broker-sub`)
    await down
    t.equal(b.ready, false, 'not ready while down')
    const late = `late:${randomUUID()}`
    await b.subscribe(late)
    t.pass('subscribe resolves while down')
    await b.publish(ch, 'while down')
    await bInbox.until('while down')
    await aInbox.until('while down')
    t.equal(b.stats().local, 1, 'b served its own subscriber directly')
    await reconnected
    t.same(states, ['down', 'connecting', 'live'])
    await a.publish(late, 'late')
    await a.publish(ch, 'back')
    await bInbox.until('back')
    await bInbox.until('late')
    t.same(bInbox.received, ['while down', 'late', 'back'], 'the channel subscribed while down is live; nothing twice')
  })

  t.test('down › while its publisher reconnects a node serves its own subscribers, then publishes again', async (t) => {
    const { client: base, name } = await namedClient(t, { retryStrategy: () => 1500 })
    const a = new RedisBroker({ redis: REDIS_URL, prefix })
    const b = new RedisBroker({ redis: base, prefix })
    t.teardown(() => Promise.all([a.close(), b.close()]))
    const ch = `pub-down:${randomUUID()}`
    const [aInbox, bInbox] = [inbox(a), inbox(b)]
    await a.subscribe(ch)
    await b.subscribe(ch)
    await reaches(b, 'live')
    const down = reaches(b, 'down')
    await killClients(admin, `${name}:broker-pub`)
    await down
    await b.publish(ch, 'local only')
    await bInbox.until('local only')
    await reaches(b, 'live')
    await b.publish(ch, 'through Redis')
    await aInbox.until('through Redis')
    await bInbox.until('through Redis')
    t.same(bInbox.received, ['local only', 'through Redis'])
    t.same(aInbox.received, ['through Redis'], 'the other node missed what was published while the publisher was down')
    t.same(b.stats().reconnects, 0, 'the subscriber never dropped: no onReconnect')
  })

  t.test('down › with Redis unreachable, local delivery works and close does not hang', async (t) => {
    const b = new RedisBroker({ redis: { host: '127.0.0.1', port: 1, retryStrategy: () => 20 }, prefix })
    const bInbox = inbox(b)
    await reaches(b, 'down')
    await b.subscribe('local')
    await b.publish('local', 'x')
    await bInbox.until('x')
    t.same(bInbox.received, ['x'])
    await b.close()
    t.equal(b.state, 'closed')
  })

  t.test('close › quits both of its connections and leaves the given client open', async (t) => {
    const { client: base, name } = await namedClient(t)
    const broker = new RedisBroker({ redis: base, prefix })
    await broker.subscribe(`close:${randomUUID()}`)
    await reaches(broker, 'live')
    t.equal((await clientIds(admin, `${name}:broker-pub`)).length, 1, 'publisher connected')
    t.equal((await clientIds(admin, `${name}:broker-sub`)).length, 1, 'subscriber connected')
    await broker.close()
    t.same(await clientIds(admin, `${name}:broker-pub`), [], 'publisher gone')
    t.same(await clientIds(admin, `${name}:broker-sub`), [], 'subscriber gone')
    t.equal(await base.ping(), 'PONG', 'the given client still works')
    const error = await broker.subscribe('x').catch((error: unknown) => error)
    t.ok(isSwitchboardError(error, 'CLOSED'), 'later calls reject with CLOSED', { found: error })
  })

  t.test('subscribe › a channel Redis refuses rejects with INTERNAL; a later subscribe asks again', async (t) => {
    const user = `sbtest-${randomUUID().slice(0, 8)}`
    await admin.acl('SETUSER', user, 'on', '>secret', '~*', '+@all', 'resetchannels', `&${prefix}:ch:allowed:*`)
    const url = new URL(REDIS_URL)
    url.username = user
    url.password = 'secret'
    const broker = new RedisBroker({ redis: url.toString(), prefix })
    t.teardown(async () => {
      await broker.close()
      await admin.acl('DELUSER', user)
    })
    const { received, until } = inbox(broker)
    for (let attempt = 1; attempt <= 2; attempt++) {
      const error = await broker.subscribe('forbidden').catch((error: unknown) => error)
      t.ok(isSwitchboardError(error, 'INTERNAL'), `attempt ${attempt} rejects with INTERNAL`, { found: error })
      t.match(String((error as Error).cause), /NOPERM/, 'the Redis error is the cause')
    }
    t.same(broker.channels(), [], 'the refused channel is not kept')
    await broker.subscribe('allowed:x')
    await broker.publish('allowed:x', 'fine')
    await until('fine')
    t.same(received, ['fine'])
  })

  t.test('options › an empty prefix is refused', async (t) => {
    let error: unknown
    try {
      new RedisBroker({ redis: REDIS_URL, prefix: '' })
    } catch (thrown) {
      error = thrown
    }
    t.ok(isSwitchboardError(error, 'CONFIG_INVALID'), 'throws CONFIG_INVALID', { found: error })
  })
})
