import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import {
  BullmqRedeliveryQueue,
  redeliveryJobId,
  type BullmqRedeliveryQueueOptions,
} from '../../../src/engines/bullmq/bullmq-redelivery-queue.js'
import type { RedeliveryJob } from '../../../src/engines/queue.js'
import { closeClient } from '../../../src/engines/redis/redis-connection.js'
import { queueConformance } from '../../../src/testing/index.js'
import { REDIS_URL, scanKeys } from '../redis/redis-test-kit.js'
import { bullmqTestKeys, connectWorkerClient, keysOutsidePrefix } from '../../helpers/redis-keys.js'

// Every key of this file lives under one random prefix, deleted (SCAN + DEL) when the file ends;
// BullMQ's keys are `<prefix>:<queueName>:…`, and `queueNames` holds every queue name this file used.
const { prefix, admin, queueNames, newQueueName } = bullmqTestKeys(t, 'bullmq-redelivery', 'q')

/** A client as the app would pass it (workers need `maxRetriesPerRequest: null`), quit when `t` ends. */
function connect(t: Test, options: { maxRetriesPerRequest?: number | null } = { maxRetriesPerRequest: null }): Redis {
  return connectWorkerClient(t, 'sbtest-bullmq', options)
}

/** One node: a queue of its own on its own client, closed when `t` ends. */
function node(t: Test, options: Partial<BullmqRedeliveryQueueOptions> = {}): BullmqRedeliveryQueue {
  const queue = new BullmqRedeliveryQueue({ connection: connect(t), prefix, retryDelayMs: 10, maxRetryDelayMs: 40, ...options })
  t.teardown(() => queue.close())
  return queue
}

const job = (seq: number, attempt = 1): RedeliveryJob => ({ channel: `dm:alice:bob:${randomUUID()}`, user: 'bob', seq, attempt })

// Three nodes, each with its own client, sharing one queue name per subtest.
await queueConformance(t, 'BullmqRedeliveryQueue', async () => {
  const queueName = newQueueName()
  const clients = [0, 1, 2].map(() => new Redis(REDIS_URL, { maxRetriesPerRequest: null, connectionName: 'sbtest-bullmq' }))
  const queues = clients.map(
    (connection) => new BullmqRedeliveryQueue({ connection, prefix, queueName, retryDelayMs: 10, maxRetryDelayMs: 40 }),
  )
  return {
    queues,
    cleanup: async () => {
      await Promise.all(queues.map((queue) => queue.close()))
      await Promise.all(clients.map((client) => closeClient(client)))
    },
  }
})

t.test('BullmqRedeliveryQueue (BullMQ-specific)', async (t) => {
  t.test('job id › deterministic, without ":", never an integer, distinct per job', async (t) => {
    t.equal(redeliveryJobId({ channel: 'dm:alice:bob', user: 'bob', seq: 42, attempt: 3 }), 'dm%3Aalice%3Abob/bob/42/3')
    t.not(
      redeliveryJobId({ channel: 'a/b', user: 'c', seq: 1, attempt: 1 }),
      redeliveryJobId({ channel: 'a', user: 'b/c', seq: 1, attempt: 1 }),
      'a "/" inside a part cannot fake a separator',
    )
    const queueName = newQueueName()
    const queue = node(t, { queueName })
    const scheduled = { channel: 'room:x:y', user: 'ü:1', seq: 7, attempt: 2 }
    await queue.schedule(scheduled, 60_000)
    const id = redeliveryJobId(scheduled)
    t.notMatch(id, /:/)
    t.equal(await admin.exists(`${prefix}:${queueName}:${id}`), 1, 'the delayed job is stored under its id')
    t.same(await admin.zrange(`${prefix}:${queueName}:delayed`, 0, -1), [id], 'and is the one delayed job')
  })

  t.test('keys › every key BullMQ created starts with the prefix', async (t) => {
    const queueName = newQueueName()
    const queue = node(t, { queueName })
    const ran = new Promise<void>((resolve) => {
      let failed = false
      queue.process(async () => {
        // One failure, so retry bookkeeping (stack traces, delayed moves) writes its keys too.
        if (!failed) {
          failed = true
          throw new Error('once (expected by the test)')
        }
        resolve()
      })
    })
    await queue.schedule(job(1), 10)
    await queue.schedule(job(2), 60_000)
    await ran
    await queue.close()
    const ours = await scanKeys(admin, prefix)
    t.ok(ours.some((key) => key.startsWith(`${prefix}:${queueName}:`)), 'BullMQ wrote keys under the prefix', { ours })
    const known = ours.filter((key) => !queueNames.some((name) => key.startsWith(`${prefix}:${name}:`)))
    t.same(known, [], 'each key under the prefix is `<prefix>:<queueName>:…`')
    const elsewhere = await keysOutsidePrefix(admin, prefix, [...queueNames.map((name) => `*${name}*`), 'bull:*'])
    t.same(elsewhere, [], 'no key outside the prefix names a queue of this file, and none uses BullMQ’s default prefix')
  })

  t.test('retry › a job failing every attempt is given up with an error log, and may be scheduled again', async (t) => {
    const lines: { level: number; msg: string }[] = []
    let onLine: () => void = () => {}
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string })
          onLine()
          callback()
        },
      }),
    )
    const queue = node(t, { queueName: newQueueName(), attempts: 2, logger })
    let succeed = false
    let runs = 0
    let resolveSuccess: () => void = () => {}
    const succeeded = new Promise<void>((resolve) => (resolveSuccess = resolve))
    queue.process(async () => {
      runs += 1
      if (!succeed) throw new Error('always (expected by the test)')
      resolveSuccess()
    })
    const given = new Promise<void>((resolve) => (onLine = () => void (lines.some((l) => l.level === 50) && resolve())))
    const doomed = job(1)
    await queue.schedule(doomed, 10)
    await given
    t.equal(runs, 2, 'run `attempts` times')
    t.match(lines, [{ level: 40, msg: /retrying/ }, { level: 50, msg: /given up/ }], 'a warning per retry, an error when given up')
    succeed = true
    await queue.schedule(doomed, 10)
    await succeeded
    t.equal(runs, 3, 'the given-up job was removed, so its id could be scheduled again')
  })

  t.test('connections › close() closes what it created and leaves the given clients open', async (t) => {
    const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length
    for (const maxRetriesPerRequest of [null, 20]) {
      const given = connect(t, { maxRetriesPerRequest })
      await new Promise<void>((resolve) => given.once('ready', () => resolve()))
      const before = sockets()
      const queue = new BullmqRedeliveryQueue({ connection: given, prefix, queueName: newQueueName() })
      const ran = new Promise<void>((resolve) => queue.process(async () => resolve()))
      await queue.schedule(job(1), 0)
      await ran
      t.ok(sockets() > before, `maxRetriesPerRequest ${maxRetriesPerRequest}: the worker opened connections of its own`)
      await queue.close()
      t.equal(sockets(), before, 'close() closed them')
      t.equal(given.status, 'ready', 'the given client is still open')
      t.equal(await given.ping(), 'PONG')
    }
  })

  t.test('config › invalid options are CONFIG_INVALID', async (t) => {
    const connection = connect(t)
    const bad: [Partial<BullmqRedeliveryQueueOptions>, RegExp][] = [
      [{ queueName: 'a:b' }, /queueName .* without ":"/],
      [{ prefix: '' }, /prefix/],
      [{ concurrency: 0 }, /concurrency/],
      [{ attempts: 1.5 }, /attempts/],
      [{ retryDelayMs: -1 }, /retryDelayMs/],
    ]
    for (const [options, message] of bad) {
      t.throws(() => new BullmqRedeliveryQueue({ connection, ...options }), { code: 'CONFIG_INVALID', message })
    }
    const prefixed = new Redis(REDIS_URL, { keyPrefix: 'app:', lazyConnect: true })
    t.teardown(() => prefixed.disconnect())
    t.throws(() => new BullmqRedeliveryQueue({ connection: prefixed }), { code: 'CONFIG_INVALID', message: /keyPrefix/ })
  })
})
