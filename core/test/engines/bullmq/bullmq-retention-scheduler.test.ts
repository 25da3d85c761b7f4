import { Writable } from 'node:stream'
import { setTimeout as delay } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import {
  BullmqRetentionScheduler,
  RETENTION_SCHEDULER_ID,
  type BullmqRetentionSchedulerOptions,
} from '../../../src/engines/bullmq/bullmq-retention-scheduler.js'
import type { RetentionRun } from '../../../src/engines/retention.js'
import { deleteKeys, REDIS_URL, scanKeys } from '../redis/redis-test-kit.js'
import { bullmqTestKeys, connectWorkerClient, keysOutsidePrefix } from '../../helpers/redis-keys.js'

// Every key of this file lives under one random prefix, deleted (SCAN + DEL) when the file ends;
// BullMQ's keys are `<prefix>:<queueName>:…`, and `queueNames` holds every queue name this file used.
const { prefix, admin, queueNames, newQueueName } = bullmqTestKeys(t, 'bullmq-retention', 'r')

/** The interval of most tests (ms): short, so runs come quickly. */
const INTERVAL = 100

/** A client as the app would pass it (workers need `maxRetriesPerRequest: null`), quit when `t` ends. */
function connect(t: Test, options: { maxRetriesPerRequest?: number | null } = { maxRetriesPerRequest: null }): Redis {
  return connectWorkerClient(t, 'sbtest-bullmq-retention', options)
}

/** One node: a scheduler of its own on its own client, closed when `t` ends. */
function node(t: Test, options: Partial<BullmqRetentionSchedulerOptions> & { queueName: string }): BullmqRetentionScheduler {
  const scheduler = new BullmqRetentionScheduler({ connection: connect(t), prefix, intervalMs: INTERVAL, ...options })
  t.teardown(() => scheduler.close())
  return scheduler
}

interface Run {
  readonly node: string
  readonly slot: number
  readonly start: number
  end: number
}

/** Records the runs of several nodes; `until(n)` resolves once `n` runs have finished. */
function recorder(work: (run: Run, index: number) => Promise<void> = async () => {}) {
  const runs: Run[] = []
  let finished = 0
  let active = 0
  let mostActive = 0
  const waiters: { count: number; resolve: () => void }[] = []
  const runOn = (name: string): RetentionRun => async ({ slot }) => {
    const run: Run = { node: name, slot, start: Date.now(), end: 0 }
    const index = runs.push(run) - 1
    active += 1
    mostActive = Math.max(mostActive, active)
    try {
      await work(run, index)
    } finally {
      active -= 1
      run.end = Date.now()
      finished += 1
      for (const waiter of waiters.filter((w) => w.count <= finished)) waiter.resolve()
    }
  }
  const until = (count: number): Promise<void> =>
    count <= finished ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))
  return { runs, runOn, until, mostActive: () => mostActive }
}

/** Asserts that no slot ran twice and that slots are whole intervals apart, ascending. */
function assertSlots(t: Test, runs: readonly Run[], interval = INTERVAL): void {
  const slots = runs.map((run) => run.slot)
  t.equal(new Set(slots).size, slots.length, 'each interval (slot) ran once, on one node', { slots })
  const gaps = slots.slice(1).map((slot, i) => slot - (slots[i] as number))
  t.ok(gaps.every((gap) => gap > 0 && gap % interval === 0), 'slots ascend by whole intervals', { gaps })
}

t.test('BullmqRetentionScheduler', async (t) => {
  t.test('runs › the job runs every interval, each interval once', async (t) => {
    const queueName = newQueueName()
    const scheduler = node(t, { queueName })
    const { runs, runOn, until } = recorder()
    const before = Date.now()
    await scheduler.start(runOn('a'))
    await until(4)
    t.ok((runs[0]?.slot ?? 0) >= before - 1000, 'the first slot is due when the schedule is created')
    assertSlots(t, runs.slice(0, 4))
    t.same(await admin.zrange(`${prefix}:${queueName}:repeat`, 0, -1), [RETENTION_SCHEDULER_ID], 'one job scheduler')
  })

  t.test('two nodes › each interval runs on one node, never two runs at once', async (t) => {
    const queueName = newQueueName()
    const [a, b] = [node(t, { queueName }), node(t, { queueName })]
    // Runs take a while; the third outlasts two intervals, so the next ones fall due while it runs.
    const { runs, runOn, until, mostActive } = recorder((_run, index) => delay(index === 2 ? INTERVAL * 2.5 : 30))
    await Promise.all([a.start(runOn('a')), b.start(runOn('b'))])
    await until(8)
    assertSlots(t, runs.slice(0, 8))
    t.equal(mostActive(), 1, 'one run at a time across both nodes')
    const ordered = [...runs.slice(0, 8)].sort((x, y) => x.start - y.start)
    t.ok(ordered.every((run, i) => i === 0 || run.start >= (ordered[i - 1] as Run).end), 'each run starts after the previous one ended')
  })

  t.test('close › stops this node only; the schedule stays in Redis for the others', async (t) => {
    const queueName = newQueueName()
    const [a, b] = [node(t, { queueName }), node(t, { queueName })]
    const { runs, runOn, until } = recorder()
    await Promise.all([a.start(runOn('a')), b.start(runOn('b'))])
    await until(2)
    await Promise.all([a.close(), a.close()])
    const closedAt = runs.length
    await until(closedAt + 3)
    t.same(new Set(runs.slice(closedAt).map((run) => run.node)), new Set(['b']), 'after a closed, every run is on b')
    await b.close()
    const repeat = `${prefix}:${queueName}:repeat`
    t.equal(await admin.zcard(repeat), 1, 'closing every node removed nothing: the job scheduler is still there')
    t.equal(await admin.exists(`${repeat}:${RETENTION_SCHEDULER_ID}`), 1)

    // A node starting later takes over the same schedule: its slots keep the same phase.
    const c = node(t, { queueName })
    const count = runs.length
    await c.start(runOn('c'))
    await until(count + 2)
    const first = runs[0] as Run
    t.ok(runs.every((run) => (run.slot - first.slot) % INTERVAL === 0), 'every slot, before and after, is on one grid', { slots: runs.map((run) => run.slot) })
    t.equal(new Set(runs.map((run) => run.slot)).size, runs.length, 'no slot ran twice')
  })

  t.test('runs › a run that rejects is logged, and the next interval runs anyway', async (t) => {
    const lines: { level: number; msg: string }[] = []
    const logger = pino({ level: 'warn' }, new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string })
        callback()
      },
    }))
    const scheduler = node(t, { queueName: newQueueName(), logger })
    const { runs, runOn, until } = recorder(async (_run, index) => {
      if (index === 0) throw new Error('expected by the test')
    })
    await scheduler.start(runOn('a'))
    await until(2)
    assertSlots(t, runs.slice(0, 2))
    t.match(lines, [{ level: 50, msg: 'retention run failed' }], 'an error line for the failed run')
  })

  t.test('repair › a schedule Redis lost is created again within an interval', async (t) => {
    const queueName = newQueueName()
    const scheduler = node(t, { queueName })
    const { runs, runOn, until } = recorder()
    await scheduler.start(runOn('a'))
    await until(1)
    // As after a Redis restart without persistence: every key of the queue is gone.
    t.ok((await deleteKeys(admin, `${prefix}:${queueName}`)) > 0, 'the queue had keys')
    const lost = runs.length
    await until(lost + 2)
    t.equal(await admin.zcard(`${prefix}:${queueName}:repeat`), 1, 'the job scheduler exists again')
    assertSlots(t, runs.slice(lost))
  })

  t.test('keys › every key is under `<prefix>:<queueName>:`, none under BullMQ’s default prefix', async (t) => {
    const queueName = newQueueName()
    const scheduler = node(t, { queueName })
    const { runOn, until } = recorder(async (_run, index) => {
      if (index === 0) throw new Error('once (expected by the test), so failure bookkeeping writes its keys too')
    })
    await scheduler.start(runOn('a'))
    await until(2)
    await scheduler.close()
    const ours = await scanKeys(admin, prefix)
    t.ok(ours.some((key) => key.startsWith(`${prefix}:${queueName}:`)), 'BullMQ wrote keys under the prefix', { ours })
    t.same(ours.filter((key) => !queueNames.some((name) => key.startsWith(`${prefix}:${name}:`))), [], 'each is `<prefix>:<queueName>:…`')
    const elsewhere = await keysOutsidePrefix(admin, prefix, [...queueNames.map((name) => `*${name}*`), 'bull:*'])
    t.same(elsewhere, [], 'no key outside the prefix')
  })

  t.test('connections › close() closes what it created, clears its timer and leaves the given clients open', async (t) => {
    const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
    for (const maxRetriesPerRequest of [null, 20]) {
      const given = connect(t, { maxRetriesPerRequest })
      await new Promise<void>((resolve) => given.once('ready', () => resolve()))
      const [socketsBefore, timersBefore] = [sockets(), timers()]
      const scheduler = new BullmqRetentionScheduler({ connection: given, prefix, queueName: newQueueName(), intervalMs: INTERVAL })
      const { runOn, until } = recorder()
      await scheduler.start(runOn('a'))
      await until(1)
      t.ok(sockets() > socketsBefore, `maxRetriesPerRequest ${maxRetriesPerRequest}: the worker opened connections of its own`)
      await scheduler.close()
      t.equal(sockets(), socketsBefore, 'close() closed them')
      t.equal(timers(), timersBefore, 'and left no timer')
      t.equal(given.status, 'ready', 'the given client is still open')
      t.equal(await given.ping(), 'PONG')
    }
  })

  t.test('lifecycle › close before start, close during start, start after close', async (t) => {
    const idle = new BullmqRetentionScheduler({ connection: connect(t), prefix, queueName: newQueueName() })
    await idle.close()
    await t.rejects(idle.start(async () => {}), { code: 'CLOSED' }, 'start after close rejects with CLOSED')

    const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length
    const given = connect(t)
    await new Promise<void>((resolve) => given.once('ready', () => resolve()))
    const before = sockets()
    const racing = new BullmqRetentionScheduler({ connection: given, prefix, queueName: newQueueName(), intervalMs: 3_600_000 })
    let ran = false
    const started = racing.start(async () => void (ran = true))
    await racing.close()
    await started.then(
      () => t.pass('start resolved'),
      (error: unknown) => t.match(error, { code: 'CLOSED' }, 'or rejected with CLOSED'),
    )
    t.equal(sockets(), before, 'no worker was started')
    t.notOk(ran)
  })

  t.test('lifecycle › close resolves while Redis is unreachable; the waiting start rejects with CLOSED', async (t) => {
    const dead = new Redis({ host: '127.0.0.1', port: 1, maxRetriesPerRequest: null, retryStrategy: () => 50 })
    dead.on('error', () => {})
    const scheduler = new BullmqRetentionScheduler({ connection: dead, prefix, queueName: newQueueName() })
    const started = scheduler.start(async () => {})
    await scheduler.close()
    t.pass('close() resolved')
    dead.disconnect()
    await t.rejects(started, { code: 'CLOSED' }, 'start gave up once its client was closed')
  })

  t.test('config › invalid options are CONFIG_INVALID', async (t) => {
    const connection = connect(t)
    const bad: [Partial<BullmqRetentionSchedulerOptions>, RegExp][] = [
      [{ queueName: 'a:b' }, /queueName .* without ":"/],
      [{ prefix: '' }, /prefix/],
      [{ intervalMs: 0 }, /intervalMs/],
      [{ intervalMs: 1.5 }, /intervalMs/],
    ]
    for (const [options, message] of bad) {
      t.throws(() => new BullmqRetentionScheduler({ connection, ...options }), { code: 'CONFIG_INVALID', message })
    }
    const prefixed = new Redis(REDIS_URL, { keyPrefix: 'app:', lazyConnect: true })
    t.teardown(() => prefixed.disconnect())
    t.throws(() => new BullmqRetentionScheduler({ connection: prefixed }), { code: 'CONFIG_INVALID', message: /keyPrefix/ })
  })
})
