import t from 'tap'
import { MemoryMessageStore } from '../../../src/engines/memory/memory-message-store.js'
import { isSwitchboardError } from '../../../src/errors.js'
import { storeConformance } from '../../../src/testing/index.js'

// One controllable clock for every store the conformance factory makes.
let clock = 1_700_000_000_000

// Nodes of one process share a store by sharing the instance.
storeConformance(
  t,
  'MemoryMessageStore',
  async () => {
    const store = new MemoryMessageStore({ now: () => clock })
    return { stores: [store, store, store], cleanup: () => store.close() }
  },
  { advanceClock: (ms) => void (clock += ms) },
)

/** Appends `count` messages to `channel`, one after another. */
async function fill(store: MemoryMessageStore, channel: string, count: number): Promise<void> {
  for (let n = 1; n <= count; n++) await store.append({ channel, from: 'alice', data: { n } })
}

const seqs = (messages: readonly { seq: number }[]): number[] => messages.map((m) => m.seq)

t.test('MemoryMessageStore (memory-specific)', async (t) => {
  t.test('range › 100,000 messages: reads near the end and after trimming are exact', async (t) => {
    const store = new MemoryMessageStore()
    t.teardown(() => store.close())
    await fill(store, 'big', 100_000)
    t.same(seqs(await store.range('big', 99_990, 5)), [99_991, 99_992, 99_993, 99_994, 99_995])
    t.same(seqs(await store.range('big', 99_998, 10)), [99_999, 100_000])
    t.same(seqs(await store.history('big', { before: 50_001, limit: 3 })), [49_998, 49_999, 50_000])
    t.same((await store.range('big', 77_776, 1))[0]?.data, { n: 77_777 }, 'the message at a seq is the right one')

    t.equal(await store.trim('big', { maxMessages: 60_000 }), 40_000)
    t.same(seqs(await store.range('big', 0, 3)), [40_001, 40_002, 40_003], 'range starts at the trimmed prefix')
    t.same(seqs(await store.range('big', 40_500, 2)), [40_501, 40_502])
    t.same((await store.range('big', 99_990, 1))[0]?.data, { n: 99_991 })

    // Past half the array, the trimmed prefix is compacted away; arithmetic must still hold.
    t.equal(await store.trim('big', { maxMessages: 10_000 }), 50_000)
    t.same(await store.position('big'), { epoch: (await store.position('big')).epoch, seq: 100_000, oldestSeq: 90_001 })
    t.same(seqs(await store.range('big', 5, 2)), [90_001, 90_002])
    t.same((await store.range('big', 95_000, 1))[0]?.data, { n: 95_001 })
    t.same(seqs(await store.history('big', { limit: 2 })), [99_999, 100_000])
    await store.append({ channel: 'big', from: 'alice', data: 'next' })
    t.same(seqs(await store.range('big', 99_999, 5)), [100_000, 100_001])
  })

  t.test('defaultRetention › maxMessages trims on every append', async (t) => {
    const store = new MemoryMessageStore({ defaultRetention: { maxMessages: 3 } })
    t.teardown(() => store.close())
    for (let n = 1; n <= 5; n++) {
      const { message } = await store.append({ channel: 'ch', from: 'alice', data: n })
      t.equal(message.seq, n, 'the appended message is returned even when older ones go')
    }
    t.match(await store.position('ch'), { seq: 5, oldestSeq: 3 })
    t.same(seqs(await store.range('ch', 0, 10)), [3, 4, 5])
  })

  t.test('defaultRetention › maxAgeMs applies only when trim runs, as the fallback', async (t) => {
    let now = 1_000_000
    const store = new MemoryMessageStore({ now: () => now, defaultRetention: { maxAgeMs: 1000 } })
    t.teardown(() => store.close())
    await fill(store, 'ch', 2)
    now += 5000
    await fill(store, 'ch', 1)
    t.match(await store.position('ch'), { seq: 3, oldestSeq: 1 }, 'append does not trim by age')
    t.equal(await store.trim('ch', { maxMessages: 10 }), 2, 'a policy without maxAgeMs uses the default')
    now += 5000
    t.equal(await store.trim('ch', {}), 1, 'an empty policy applies the default')
    t.equal(await store.trim('ch', { maxAgeMs: undefined }), 0, 'an undefined field does not hide the default')
  })

  t.test('idempotency › keys of trimmed messages are forgotten', async (t) => {
    const store = new MemoryMessageStore()
    t.teardown(() => store.close())
    const first = await store.append({ channel: 'ch', from: 'alice', data: 'a', key: 'k' })
    await store.append({ channel: 'ch', from: 'alice', data: 'b', key: 'kept' })
    t.equal((await store.append({ channel: 'ch', from: 'alice', data: 'c', key: 'k' })).duplicate, true)
    await store.trim('ch', { maxMessages: 1 })
    const again = await store.append({ channel: 'ch', from: 'alice', data: 'd', key: 'k' })
    t.same([again.duplicate, again.message.seq], [false, 3], 'the key appends anew once its message is gone')
    t.not(again.message.mid, first.message.mid)
    t.equal((await store.append({ channel: 'ch', from: 'alice', data: 'e', key: 'kept' })).duplicate, true, 'stored keys are kept')
  })

  t.test('isolation › callers cannot change what is stored', async (t) => {
    const store = new MemoryMessageStore()
    t.teardown(() => store.close())
    const data = { text: 'hi', tags: ['a'] }
    const { message } = await store.append({ channel: 'ch', from: 'alice', data })
    data.text = 'changed input'
    data.tags.push('b')
    ;(message.data as { text: string }).text = 'changed result'
    const ranged = await store.range('ch', 0, 10)
    ;(ranged[0]?.data as { tags: string[] }).tags.push('c')
    ranged.pop()
    const page = await store.history('ch', { limit: 10 })
    ;(page[0] as { seq: number }).seq = 99
    const expected = { text: 'hi', tags: ['a'] }
    t.same((await store.range('ch', 0, 10)).map((m) => [m.seq, m.data]), [[1, expected]])
    t.same((await store.history('ch', { limit: 10 })).map((m) => [m.seq, m.data]), [[1, expected]])
    t.same((await store.append({ channel: 'ch', from: 'alice', data: 0 })).message.seq, 2)
  })

  t.test('append › data that cannot be cloned rejects with INTERNAL and appends nothing', async (t) => {
    const store = new MemoryMessageStore()
    t.teardown(() => store.close())
    const error = await store.append({ channel: 'ch', from: 'alice', data: { fn: () => 1 } }).then(
      () => undefined,
      (error: unknown) => error,
    )
    t.ok(isSwitchboardError(error, 'INTERNAL'), 'INTERNAL', { found: error })
    t.ok((error as Error).cause instanceof Error, 'with the clone error as cause')
    t.match(await store.position('ch'), { seq: 0, oldestSeq: 1 })
  })

  t.test('retention › a negative or fractional limit is CONFIG_INVALID', async (t) => {
    t.throws(() => new MemoryMessageStore({ defaultRetention: { maxMessages: -1 } }), {
      code: 'CONFIG_INVALID',
      message: /defaultRetention\.maxMessages .* got -1/,
    })
    t.throws(() => new MemoryMessageStore({ defaultRetention: { maxAgeMs: 1.5 } }), { code: 'CONFIG_INVALID' })
    const store = new MemoryMessageStore()
    t.teardown(() => store.close())
    await t.rejects(store.trim('ch', { maxMessages: Number.NaN }), { code: 'CONFIG_INVALID', message: /policy\.maxMessages/ })
  })

  t.test('epoch › each channel gets its own; a new store starts new ones', async (t) => {
    const a = new MemoryMessageStore()
    const b = new MemoryMessageStore()
    t.teardown(() => Promise.all([a.close(), b.close()]))
    const red = (await a.position('red')).epoch
    t.not((await a.position('blue')).epoch, red)
    t.not((await b.position('red')).epoch, red)
  })
})
