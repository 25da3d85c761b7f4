import { EventEmitter, once } from 'node:events'
import t, { type Test } from 'tap'
import { z } from 'zod'
import { defineChannel } from '../../src/channels/define-channel.js'
import { enforceRetention } from '../../src/delivery/retention.js'
import { MemoryMessageStore } from '../../src/engines/memory/memory-message-store.js'
import { MemoryRetentionScheduler } from '../../src/engines/memory/memory-retention-scheduler.js'
import type { RetentionRun } from '../../src/engines/retention.js'
import type { MessageStore } from '../../src/engines/store.js'
import { silentLogger } from '../../src/observability/logger.js'
import { DEFAULT_OPTIONS, resolveOptions } from '../../src/options.js'
import { startTestServer } from '../../src/testing/test-server.js'

const open = { subscribe: () => true, publish: () => true }
const schema = z.strictObject({ text: z.string() })
/** Keeps the latest three messages of each `recent:*` channel. */
const recent = defineChannel({ pattern: 'recent:{id}', schema, authorize: open, history: { maxMessages: 3 } })
/** Keeps a minute of each `fresh:*` channel. */
const fresh = defineChannel({ pattern: 'fresh:{id}', schema, authorize: open, history: { maxAgeMs: 60_000 } })
/** No policy of its own: the store's default (here: keep everything). */
const forever = defineChannel({ pattern: 'forever:{id}', schema, authorize: open })
/** Not persisted: nothing to trim. */
const ephemeral = defineChannel({ pattern: 'ephemeral:{id}', schema, authorize: open, persist: false })

/** The memory scheduler, reporting each run after it finished (so tests wait on events, not time). */
class ObservedScheduler extends MemoryRetentionScheduler {
  readonly done = new EventEmitter()
  override start(run: RetentionRun): Promise<void> {
    return super.start(async tick => {
      await run(tick)
      this.done.emit('run', tick)
    })
  }
}

async function setup(t: Test, options: { now?: () => number; retentionIntervalMs?: number } = {}) {
  const store = new MemoryMessageStore(options.now ? { now: options.now } : {})
  const retention = new ObservedScheduler({ intervalMs: options.retentionIntervalMs ?? 3_600_000 })
  const server = await startTestServer({
    channels: [recent, fresh, forever, ephemeral],
    engines: { store, retention },
  })
  t.teardown(() => server.close())
  return { server, store, retention }
}

const seqs = (messages: readonly { seq: number }[]): number[] => messages.map(m => m.seq)

async function publish(server: Awaited<ReturnType<typeof setup>>['server'], channel: string, count: number): Promise<void> {
  for (let n = 1; n <= count; n++) await server.switchboard.publish(channel, { text: `m${n}` })
}

t.test('retention › maxMessages: history keeps the latest three; since before them is not recovered', async t => {
  const { server, store } = await setup(t)
  await publish(server, 'recent:a', 5)
  await publish(server, 'forever:a', 5)
  t.equal(await server.switchboard.enforceRetention(), 2, 'one pass trims the two oldest of recent:a')
  t.same(seqs(await store.range('recent:a', 0, 10)), [3, 4, 5])
  t.match(await store.position('recent:a'), { seq: 5, oldestSeq: 3 }, 'seqs do not change')
  t.same(seqs(await store.range('forever:a', 0, 10)), [1, 2, 3, 4, 5], 'a channel without a policy keeps everything')
  t.equal(await server.switchboard.enforceRetention(), 0, 'a second pass trims nothing (idempotent)')

  const client = await server.connect('alice')
  const history = await client.request({ type: 'history', channel: 'recent:a', limit: 10 })
  t.match(history, { type: 'history' })
  t.same(seqs((history as unknown as { messages: { seq: number }[] }).messages), [3, 4, 5], 'the history frame starts at seq 3')

  const { epoch } = await store.position('recent:a')
  const lost = await client.request({ type: 'subscribe', channel: 'recent:a', since: { epoch, seq: 1 } })
  t.match(lost, { type: 'subscribed', seq: 5, recovered: false }, 'since seq 1: seq 2 is gone, so not recovered')
  await client.request({ type: 'unsubscribe', channel: 'recent:a' })

  const other = await server.connect('bob')
  const last = other.next(f => f.type === 'message' && f.seq === 5, 'the replay of seq 5')
  const kept = await other.request({ type: 'subscribe', channel: 'recent:a', since: { epoch, seq: 2 } })
  t.match(kept, { type: 'subscribed', seq: 5, recovered: true }, 'since seq 2: everything after it is still stored')
  await last
  t.same(other.frames.filter(f => f.type === 'message').map(f => f.seq), [3, 4, 5], 'and replayed')
  await client.close()
  await other.close()
})

t.test('retention › maxAgeMs: messages older than the channel’s policy go, on the store’s clock', async t => {
  let clock = 1_700_000_000_000
  const { server, store } = await setup(t, { now: () => clock })
  await publish(server, 'fresh:a', 2)
  await publish(server, 'fresh:b', 1)
  await publish(server, 'forever:a', 2)
  clock += 90_000
  await publish(server, 'fresh:a', 1)
  t.equal(await server.switchboard.enforceRetention(), 3, 'the two old ones of fresh:a and the old one of fresh:b')
  t.match(await store.position('fresh:a'), { seq: 3, oldestSeq: 3 })
  t.match(await store.position('fresh:b'), { seq: 1, oldestSeq: 2 })
  t.match(await store.position('forever:a'), { seq: 2, oldestSeq: 1 }, 'other namespaces are untouched')
  clock += 59_000
  t.equal(await server.switchboard.enforceRetention(), 0, 'younger than a minute: kept')
  clock += 2_000
  t.equal(await server.switchboard.enforceRetention(), 1)
  t.match(await store.position('fresh:a'), { seq: 3, oldestSeq: 4 })
})

t.test('retention › the node starts the scheduler with the same pass', async t => {
  const { server, store, retention } = await setup(t)
  await publish(server, 'recent:x', 4)
  const ran = once(retention.done, 'run')
  await retention.runNow()
  await ran
  t.match(await store.position('recent:x'), { seq: 4, oldestSeq: 2 }, 'a scheduled run trimmed it')
})

t.test('retention › the scheduler runs the pass every interval by itself', async t => {
  const { server, store, retention } = await setup(t, { retentionIntervalMs: 20 })
  await publish(server, 'recent:y', 6)
  for (;;) {
    await once(retention.done, 'run')
    if ((await store.position('recent:y')).oldestSeq === 4) break
  }
  t.same(seqs(await store.range('recent:y', 0, 10)), [4, 5, 6], 'trimmed without being asked')
})

t.test('retention › a node without persisted channels never starts the scheduler', async t => {
  let started = 0
  const retention = new (class extends MemoryRetentionScheduler {
    override start(run: RetentionRun): Promise<void> {
      started += 1
      return super.start(run)
    }
  })()
  const server = await startTestServer({ channels: [ephemeral], engines: { retention } })
  t.equal(started, 0)
  t.equal(await server.switchboard.enforceRetention(), 0)
  await server.close()
  await t.rejects(retention.runNow(), { code: 'CLOSED' }, 'the node closed it')
})

t.test('enforceRetention › per-namespace counts; a failing namespace is reported, the others still go', async t => {
  const store = new MemoryMessageStore()
  t.teardown(() => store.close())
  for (const channel of ['recent:a', 'recent:b', 'forever:a', 'ephemeral:a']) {
    for (let n = 0; n < 5; n++) await store.append({ channel, from: 'alice', data: { text: String(n) } })
  }
  const calls: string[] = []
  const failing: MessageStore = Object.assign(Object.create(store) as MessageStore, {
    trimNamespace: async (namespace: string, policy: object) => {
      calls.push(`${namespace} ${JSON.stringify(policy)}`)
      if (namespace === 'fresh') throw new Error('expected by the test')
      return store.trimNamespace(namespace, policy)
    },
  })
  const report = await enforceRetention(failing, [fresh, recent, forever, ephemeral], { maxMessages: 4 }, silentLogger())
  t.same(calls, ['fresh {"maxAgeMs":60000}', 'recent {"maxMessages":3}', 'forever {"maxMessages":4}'], 'persisted definitions only, each with its policy or the default')
  t.same(report, { trimmed: 5, byNamespace: { recent: 4, forever: 1 }, failed: ['fresh'] })
  t.match(await store.position('ephemeral:a'), { oldestSeq: 1 }, 'not a persisted definition: left alone')
})

t.test('retention › retentionIntervalMs defaults to a minute and must be a positive integer', async t => {
  t.equal(DEFAULT_OPTIONS.retentionIntervalMs, 60_000)
  t.throws(() => resolveOptions({ retentionIntervalMs: 0 }), { code: 'CONFIG_INVALID', message: /retentionIntervalMs: got 0, expected a positive integer/ })
})
