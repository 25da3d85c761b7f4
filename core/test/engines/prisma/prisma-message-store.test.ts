import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import t, { type Test } from 'tap'
import { createPrismaClient } from '../../../src/engines/prisma/create-prisma-client.js'
import { PrismaClient } from '../../../src/engines/prisma/generated/client.js'
import { PrismaMessageStore, type PrismaMessageStoreOptions } from '../../../src/engines/prisma/prisma-message-store.js'
import { isSwitchboardError } from '../../../src/errors.js'
import { storeConformance } from '../../../src/testing/index.js'
import { migratedSchema, sql, TEST_DATABASE_URL } from '../../helpers/postgres-schema.js'

const schema = await migratedSchema(t)

// One controllable clock for every store: it stamps `ts` and judges age in `trim`.
let clock = 1_700_000_000_000

/** A store with a client of its own on this file's schema (one "node"), closed when `t` ends. */
function node(t: Test, options: Omit<PrismaMessageStoreOptions, 'client'> = {}): PrismaMessageStore {
  const store = new PrismaMessageStore({
    client: createPrismaClient({ connectionString: TEST_DATABASE_URL, schema, maxConnections: 4 }),
    now: () => clock,
    ...options,
  })
  t.teardown(() => store.close())
  return store
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown }
const settle = <T>(promise: Promise<T>): Promise<Outcome<T>> =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  )
const seqs = (messages: readonly { seq: number }[]): number[] => messages.map((m) => m.seq)
const channel = (label: string): string => `prisma:${label}:${Math.random().toString(36).slice(2)}`

// Two stores, each with its own client and pool, on one schema: two nodes of a cluster.
await storeConformance(
  t,
  'PrismaMessageStore',
  async () => {
    const stores = [0, 1].map(
      () => new PrismaMessageStore({ client: createPrismaClient({ connectionString: TEST_DATABASE_URL, schema, maxConnections: 4 }), now: () => clock }),
    )
    return { stores, cleanup: async () => void (await Promise.all(stores.map((store) => store.close()))) }
  },
  { advanceClock: (ms) => void (clock += ms) },
)

t.test('PrismaMessageStore (PostgreSQL-specific)', async (t) => {
  t.test('group commit › a burst of appends lands in far fewer transactions', async (t) => {
    const store = node(t)
    const channels = [channel('burst-a'), channel('burst-b'), channel('burst-c')]
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => store.append({ channel: channels[i % 3] as string, from: 'alice', data: { i } })),
    )
    const { transactions, appended, largestBatch } = store.stats()
    t.equal(appended, 300)
    t.ok(transactions <= 3, `300 appends in ${transactions} transaction(s)`)
    t.equal(largestBatch, 300, 'one batch took the whole burst')
    for (const ch of channels) {
      t.same(results.filter((r) => r.message.channel === ch).map((r) => r.message.seq), Array.from({ length: 100 }, (_, i) => i + 1))
    }
  })

  t.test('group commit › batchMaxSize caps a transaction; appends queued meanwhile join the next one', async (t) => {
    const store = node(t, { batchMaxSize: 16 })
    const ch = channel('capped')
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => store.append({ channel: ch, from: 'alice', data: i })))
    t.same(seqs(results.map((r) => r.message)), Array.from({ length: 100 }, (_, i) => i + 1), 'in call order, dense')
    t.ok(store.stats().largestBatch <= 16, 'no transaction carried more than 16')
    t.ok(store.stats().transactions >= 7 && store.stats().transactions < 100, `${store.stats().transactions} transactions`)
  })

  t.test('group commit › batchMaxWaitMs gathers appends that arrive apart', async (t) => {
    const store = node(t, { batchMaxWaitMs: 200 })
    const ch = channel('wait')
    const first = store.append({ channel: ch, from: 'alice', data: 1 })
    await new Promise<void>((resolve) => setImmediate(resolve))
    const second = store.append({ channel: ch, from: 'alice', data: 2 })
    await Promise.all([first, second])
    t.equal(store.stats().transactions, 1, 'both in one transaction')
  })

  /**
   * Holds `ch`'s stream row locked from another connection, so a batch touching it stays in
   * flight; `blocked()` resolves with the pid of the backend waiting for it.
   */
  async function lockStream(t: Test, ch: string): Promise<{ blocked: () => Promise<number>; release: () => Promise<void> }> {
    const locker = new pg.Client({ connectionString: TEST_DATABASE_URL })
    await locker.connect()
    t.teardown(() => locker.end())
    await locker.query('BEGIN')
    await locker.query(`SELECT 1 FROM "${schema}".streams WHERE channel = $1 FOR UPDATE`, [ch])
    const { rows } = await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
    const lockerPid = rows[0]?.pid
    return {
      blocked: async () => {
        for (;;) {
          const waiting = await sql(`SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [lockerPid])
          if (waiting.rows.length > 0) return (waiting.rows[0] as { pid: number }).pid
          await new Promise<void>((resolve) => setTimeout(resolve, 10))
        }
      },
      release: async () => void (await locker.query('COMMIT')),
    }
  }
  const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve))

  /**
   * A store whose channel holds one message (data 0) and whose next append (data 1, `first`)
   * is in flight, waiting for the stream row that another connection holds locked (`lock`);
   * `backend` is the server process running it.
   */
  async function blockedStore(t: Test, label: string, options: Omit<PrismaMessageStoreOptions, 'client'> = {}) {
    const store = node(t, options)
    const ch = channel(label)
    await store.append({ channel: ch, from: 'alice', data: 0 })
    const lock = await lockStream(t, ch)
    const first = settle(store.append({ channel: ch, from: 'alice', data: 1 }))
    const backend = await lock.blocked()
    return { store, ch, lock, first, backend }
  }
  const stored = async <T>(outcome: Promise<Outcome<T>>): Promise<T> => {
    const settled = await outcome
    if (!settled.ok) throw settled.error
    return settled.value
  }

  t.test('pipelining › a batch is sent while another runs; seqs still follow append order', async (t) => {
    const { store, ch, lock, first } = await blockedStore(t, 'pipelined')
    const second = store.append({ channel: ch, from: 'alice', data: 2 })
    while (store.stats().mostBatchesInFlight < 2) await nextTurn()
    const third = store.append({ channel: ch, from: 'alice', data: 3 })
    await nextTurn()
    t.equal(store.stats().queued, 1, 'a third batch waits: both slots are busy')
    await lock.release()
    const results = await Promise.all([stored(first), second, third])
    t.same(seqs(results.map((r) => r.message)), [2, 3, 4], 'in append order')
    t.same((await store.range(ch, 0, 10)).map((m) => m.data), [0, 1, 2, 3])
    t.equal(store.stats().mostBatchesInFlight, 2)
  })

  t.test('pipelining › when its connection dies, the batches on it reject and the next append opens a new one', async (t) => {
    const { store, ch, lock, first, backend } = await blockedStore(t, 'pipeline-dies')
    const second = settle(store.append({ channel: ch, from: 'alice', data: 2 }))
    while (store.stats().mostBatchesInFlight < 2) await nextTurn()
    await sql('SELECT pg_terminate_backend($1)', [backend])
    const outcomes = await Promise.all([first, second])
    t.ok(outcomes.every((o) => !o.ok && isSwitchboardError(o.error, 'INTERNAL')), 'both batches reject with INTERNAL')
    await lock.release()
    t.match(await store.append({ channel: ch, from: 'alice', data: 3 }), { message: { seq: 2 } }, 'stored on a new connection; no seq was lost')
    t.same((await store.range(ch, 0, 10)).map((m) => m.data), [0, 3])
  })

  t.test('pipelining › a statement past transactionTimeoutMs is rolled back and holds up no later batch', async (t) => {
    // 1 s: the statements before the stuck one must fit in it on a busy machine too.
    const store = node(t, { transactionTimeoutMs: 1_000 })
    const [stuck, free] = [channel('stuck'), channel('free')]
    await store.append({ channel: stuck, from: 'alice', data: 0 })
    const lock = await lockStream(t, stuck)
    const outcome = await settle(store.append({ channel: stuck, from: 'alice', data: 1 }))
    t.ok(!outcome.ok && isSwitchboardError(outcome.error, 'INTERNAL'), 'the stuck batch rejects with INTERNAL')
    t.match(String(((outcome as { error?: Error }).error?.cause as Error | undefined)?.message), /longer than 1000 ms/)
    t.match(await store.append({ channel: free, from: 'alice', data: 2 }), { message: { seq: 1 } }, 'the next batch commits while the lock is still held')
    await lock.release()
    t.same((await store.range(stuck, 0, 10)).map((m) => m.data), [0], 'the stuck statement was rolled back')
    t.match(await store.append({ channel: stuck, from: 'alice', data: 3 }), { message: { seq: 2 } })
  })

  t.test('pipelining › batchesInFlight 1 sends one batch at a time', async (t) => {
    const { store, ch, lock, first } = await blockedStore(t, 'serial', { batchesInFlight: 1 })
    const second = store.append({ channel: ch, from: 'alice', data: 2 })
    for (let i = 0; i < 5; i++) await nextTurn()
    t.equal(store.stats().queued, 1, 'the second waits for the first')
    await lock.release()
    t.same(seqs((await Promise.all([stored(first), second])).map((r) => r.message)), [2, 3])
    t.equal(store.stats().mostBatchesInFlight, 1)
  })

  t.test('arrays › channels, senders and keys with quotes, backslashes, commas, braces and NULL come back as written', async (t) => {
    const store = node(t)
    const odd = ['a"b', 'c\\d', 'e,f', '{g}', 'NULL', '', ' h ', 'i\\"j', 'ü✓']
    const ch = `${channel('odd')}:${'{x,"y"}\\'}`
    const results = await Promise.all(odd.map((text, i) => store.append({ channel: ch, from: text, data: { i }, key: text === '' ? undefined : `k${text}` })))
    t.same(results.map((r) => r.message.from), odd)
    const stored = await store.range(ch, 0, 100)
    t.same(stored.map((m) => m.from), odd, 'read back from PostgreSQL')
    t.same(stored.map((m) => m.channel), odd.map(() => ch))
    const again = await Promise.all(odd.filter((text) => text !== '').map((text) => store.append({ channel: ch, from: 'someone', data: {}, key: `k${text}` })))
    t.ok(again.every((r) => r.duplicate), 'each key was stored as written: every retry finds its message')
    t.same(again.map((r) => r.message.from), odd.filter((text) => text !== ''))
  })

  t.test('rangeJson › the same messages as range, data as JSON text that parses to the same value', async (t) => {
    const store = node(t)
    const ch = channel('json')
    const datas: unknown[] = [{ text: 'hi' }, null, undefined, 0, -1.5, 'a "quoted" \\ string\n', ['ü✓😀', [1, { x: null }]], { nested: { deep: [true, false] } }, 1e21]
    for (const data of datas) await store.append({ channel: ch, from: 'a"b\\c', data })
    const plain = await store.range(ch, 2, 100)
    const json = await store.rangeJson(ch, 2, 100)
    t.equal(json.length, datas.length - 2, 'after seq 2: the rest')
    t.same(
      json.map(({ dataJson, ...rest }) => ({ ...rest, data: JSON.parse(dataJson) as unknown })),
      plain,
      'every field as range gives it, data parsed',
    )
    t.ok(json.every((m) => typeof m.dataJson === 'string'), 'data stays text')
    t.same(seqs(await store.rangeJson(ch, 0, 3)), [1, 2, 3], 'limit')
    t.same(await store.rangeJson(ch, 0, 0), [], 'limit 0')
    t.same(await store.rangeJson(ch, datas.length, 10), [], 'nothing after the latest')
    t.same(await store.rangeJson(channel('never'), 0, 10), [], 'a channel never appended to')
  })

  t.test('nodes › three processes appending to one channel get one dense sequence and one message per key', async (t) => {
    const ch = channel('processes')
    const worker = fileURLToPath(new URL('./fixtures/append-worker.ts', import.meta.url))
    const outputs = await Promise.all(
      [0, 1, 2].map(() => promisify(execFile)(process.execPath, ['--import', 'tsx', worker, TEST_DATABASE_URL, schema, ch, '10', '30'])),
    )
    const results = outputs.flatMap((o) => JSON.parse(o.stdout) as { seq: number; mid: string; duplicate: boolean }[])
    const stored = results.filter((r) => !r.duplicate)
    // 3 processes × 10 loops × 30 appends; loop 0's 30 keys are shared, so 2 × 30 are duplicates.
    t.equal(results.length, 900)
    t.equal(stored.length, 840, 'each shared key was stored by exactly one process')
    t.same(stored.map((r) => r.seq).sort((a, b) => a - b), Array.from({ length: 840 }, (_, i) => i + 1), 'seqs 1..840, no gap')
    t.equal(new Set(results.map((r) => `${r.seq}/${r.mid}`)).size, 840, 'duplicates return the stored message')
    const reader = node(t)
    t.match(await reader.position(ch), { seq: 840, oldestSeq: 1 })
    t.equal((await reader.range(ch, 0, 1000)).length, 840)
  })

  t.test('failure › a failing transaction rejects every append of its batch and stores none of it', async (t) => {
    // A trigger refuses one message of the batch, as PostgreSQL would refuse a broken row.
    await sql(`CREATE FUNCTION "${schema}".refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.data ? 'refuse' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; RETURN NEW; END $$`)
    await sql(`CREATE TRIGGER refuse BEFORE INSERT ON "${schema}".messages FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse()`)
    t.teardown(() => sql(`DROP TRIGGER refuse ON "${schema}".messages`))
    const store = node(t)
    const [red, blue] = [channel('fail-red'), channel('fail-blue')]
    const outcomes = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => settle(store.append({ channel: i % 2 ? red : blue, from: 'alice', data: { i }, key: `k${i}` }))),
      settle(store.append({ channel: red, from: 'mallory', data: { refuse: true } })),
    ])
    t.ok(outcomes.every((o) => !o.ok && isSwitchboardError(o.error, 'INTERNAL')), 'all 11 appends reject with INTERNAL')
    const error = outcomes[0]?.ok === false ? (outcomes[0].error as Error) : undefined
    t.match(String((error?.cause as Error | undefined)?.message), /refused by the test trigger/, 'the PostgreSQL error is the cause')
    t.match(store.stats(), { transactions: 0, failedTransactions: 1, appended: 0 })
    for (const ch of [red, blue]) {
      t.match(await store.position(ch), { seq: 0, oldestSeq: 1 }, 'no seq was used')
      t.same(await store.range(ch, 0, 100), [], 'no row was stored')
    }
    const again = await store.append({ channel: red, from: 'alice', data: { i: 1 }, key: 'k1' })
    t.same([again.message.seq, again.duplicate], [1, false], 'the next append gets seq 1; the key was not kept')
  })

  t.test('validation › input PostgreSQL refuses rejects that append alone, before its batch', async (t) => {
    const store = node(t)
    const ch = channel('nul')
    const [good, nulData, nulFrom, longKey, escaped] = await Promise.all([
      settle(store.append({ channel: ch, from: 'alice', data: 'fine' })),
      settle(store.append({ channel: ch, from: 'alice', data: { text: 'a\u0000b' } })),
      settle(store.append({ channel: ch, from: 'al\u0000ice', data: 'x' })),
      settle(store.append({ channel: ch, from: 'alice', data: 'x', key: 'k'.repeat(129) })),
      settle(store.append({ channel: ch, from: 'alice', data: { text: 'a backslash then u0000: \\u0000' } })),
    ])
    t.match(good, { ok: true, value: { message: { seq: 1 } } })
    t.ok(!nulData.ok && isSwitchboardError(nulData.error, 'VALIDATION'), 'NUL in data: VALIDATION')
    t.match(!nulData.ok && nulData.error, { details: [{ path: 'data' }] })
    t.match(!nulFrom.ok && nulFrom.error, { code: 'VALIDATION', details: [{ path: 'from' }] })
    t.match(!longKey.ok && longKey.error, { code: 'VALIDATION', details: [{ path: 'key' }] })
    t.match(escaped, { ok: true, value: { message: { seq: 2, data: { text: 'a backslash then u0000: \\u0000' } } } }, 'an escaped backslash is not a NUL')
    const cyclic: { self?: unknown } = {}
    cyclic.self = cyclic
    await t.rejects(store.append({ channel: ch, from: 'alice', data: cyclic }), { code: 'INTERNAL' }, 'data that is not JSON')
    t.same(seqs(await store.range(ch, 0, 10)), [1, 2])
  })

  t.test('lone surrogates › refused with VALIDATION alone; the rest of the same batch is stored', async (t) => {
    const store = node(t)
    const ch = channel('surrogate')
    // One batch: every append below is queued in the same turn.
    const [before, loneData, lowData, loneKey, pair, escaped, after] = await Promise.all([
      settle(store.append({ channel: ch, from: 'alice', data: 'before' })),
      settle(store.append({ channel: ch, from: 'alice', data: { text: 'half \ud800 of a pair' } })),
      settle(store.append({ channel: ch, from: 'alice', data: ['\udc00'] })),
      settle(store.append({ channel: ch, from: 'alice', data: 'x', key: 'k\ud83d' })),
      settle(store.append({ channel: ch, from: 'alice', data: { text: 'a whole pair: \ud83d\ude00' } })),
      settle(store.append({ channel: ch, from: 'alice', data: { text: 'a backslash then ud800: \\ud800' } })),
      settle(store.append({ channel: ch, from: 'alice', data: 'after' })),
    ])
    t.match(!loneData.ok && loneData.error, { code: 'VALIDATION', details: [{ path: 'data', message: /lone surrogate/ }] }, 'a lone high surrogate in data')
    t.match(!lowData.ok && lowData.error, { code: 'VALIDATION', details: [{ path: 'data' }] }, 'a lone low surrogate in data')
    t.match(!loneKey.ok && loneKey.error, { code: 'VALIDATION', details: [{ path: 'key' }] }, 'a lone surrogate in the key')
    t.match(before, { ok: true, value: { message: { seq: 1 } } })
    t.match(pair, { ok: true, value: { message: { seq: 2, data: { text: 'a whole pair: \ud83d\ude00' } } } }, 'a surrogate pair is stored')
    t.match(escaped, { ok: true, value: { message: { seq: 3 } } }, 'an escaped backslash before ud800 is not a surrogate')
    t.match(after, { ok: true, value: { message: { seq: 4 } } })
    const stored = await store.range(ch, 0, 10)
    t.same(stored.map((m) => m.data), ['before', { text: 'a whole pair: \ud83d\ude00' }, { text: 'a backslash then ud800: \\ud800' }, 'after'], 'read back from PostgreSQL as written')
    t.equal(store.stats().failedTransactions, 0, 'no batch failed')
  })

  t.test('dead letters › input PostgreSQL refuses rejects with VALIDATION and stores nothing', async (t) => {
    const store = node(t)
    const ch = channel('dead-invalid')
    const good = { channel: ch, seq: 1, user: 'alice', mid: randomUUID(), reason: 'max-attempts', attempts: 5 }
    await t.rejects(store.deadLetter({ ...good, mid: '' }), { code: 'VALIDATION', details: [{ path: 'mid' }] }, 'a mid that is not a UUID')
    await t.rejects(store.deadLetter({ ...good, user: 'al\u0000ice' }), { code: 'VALIDATION', details: [{ path: 'user' }] }, 'a NUL')
    await t.rejects(store.deadLetter({ ...good, seq: 1.5, attempts: 2 ** 31 }), {
      code: 'VALIDATION',
      details: [{ path: 'seq' }, { path: 'attempts' }],
    })
    t.same(await store.deadLetters({ channel: ch }), [])
    t.equal(await store.deadLetter(good), true, 'valid input is then recorded')
    const [row] = (await sql(`SELECT mid::text, created_at FROM "${schema}".dead_letters WHERE channel = $1`, [ch])).rows as { mid: string; created_at: Date }[]
    t.same(row, { mid: good.mid, created_at: new Date(clock) }, 'the row holds the mid and the store clock’s time')
  })

  t.test('bigint › a seq of 2^53 (past Number.MAX_SAFE_INTEGER) is refused, never rounded', async (t) => {
    const store = node(t)
    const ch = channel('huge')
    await store.position(ch)
    await sql(`UPDATE "${schema}".streams SET seq = 9007199254740992 WHERE channel = $1`, [ch])
    await t.rejects(store.position(ch), { code: 'INTERNAL' }, 'position')
    await t.rejects(store.append({ channel: ch, from: 'alice', data: 1 }), { code: 'INTERNAL' }, 'append')
    const [row] = (await sql(`SELECT seq FROM "${schema}".streams WHERE channel = $1`, [ch])).rows as { seq: string }[]
    t.equal(row?.seq, '9007199254740992', 'the failed append left the stream as it was')
  })

  t.test('defaultRetention › maxMessages trims inside each append transaction', async (t) => {
    const store = node(t, { defaultRetention: { maxMessages: 3 } })
    const ch = channel('retention')
    const results = await Promise.all(Array.from({ length: 7 }, (_, i) => store.append({ channel: ch, from: 'alice', data: i })))
    t.same(seqs(results.map((r) => r.message)), [1, 2, 3, 4, 5, 6, 7])
    t.match(await store.position(ch), { seq: 7, oldestSeq: 5 })
    t.equal(store.stats().trimmed, 4)
  })

  t.test('prepared statements › stores sharing one client use statements in any order without clashing', async (t) => {
    const client = createPrismaClient({ connectionString: TEST_DATABASE_URL, schema, maxConnections: 1 })
    const first = new PrismaMessageStore({ client, now: () => clock, disconnectOnClose: false })
    const second = new PrismaMessageStore({ client, now: () => clock })
    t.teardown(async () => {
      await first.close()
      await second.close()
    })
    const ch = channel('shared-client')
    // One pooled connection, so both stores' statements meet on it, first used in opposite orders.
    t.same(await first.range(ch, 0, 10), [])
    t.match(await second.append({ channel: ch, from: 'alice', data: 1, key: 'k' }), { message: { seq: 1 }, duplicate: false })
    t.match(await first.append({ channel: ch, from: 'bob', data: 2 }), { message: { seq: 2 } })
    t.same((await second.range(ch, 0, 10)).map((m) => m.seq), [1, 2])
    t.match(await first.append({ channel: ch, from: 'alice', data: 1, key: 'k' }), { message: { seq: 1 }, duplicate: true })
    t.equal(await second.cursor(ch, 'alice'), 0)
  })

  t.test('close › commits appends already queued, then rejects new calls', async (t) => {
    const store = node(t)
    const reader = node(t)
    const ch = channel('close')
    const pending = Array.from({ length: 20 }, (_, i) => store.append({ channel: ch, from: 'alice', data: i }))
    const closed = store.close()
    await t.rejects(store.append({ channel: ch, from: 'alice', data: 'late' }), { code: 'CLOSED' })
    const results = await Promise.all(pending)
    await closed
    t.equal(results.length, 20, 'every queued append resolved')
    t.equal((await reader.position(ch)).seq, 20, 'and was committed')
  })

  t.test('close › leaves no socket, timer or immediate behind', async (t) => {
    const open = (): string[] =>
      process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout' || r === 'Immediate').sort()
    const before = open()
    const store = new PrismaMessageStore({
      client: createPrismaClient({ connectionString: TEST_DATABASE_URL, schema }),
      batchMaxWaitMs: 50,
    })
    const ch = channel('handles')
    await Promise.all([store.append({ channel: ch, from: 'alice', data: 1 }), store.position(ch), store.range(ch, 0, 10)])
    const queued = store.append({ channel: ch, from: 'alice', data: 2 })
    await store.close()
    t.match(await queued, { message: { seq: 2 } }, 'the append waiting for batchMaxWaitMs was committed at close')
    t.same(open(), before)
  })

  t.test('config › invalid options are CONFIG_INVALID', async (t) => {
    const client = createPrismaClient({ connectionString: TEST_DATABASE_URL, schema })
    t.teardown(() => client.$disconnect())
    t.throws(() => new PrismaMessageStore({ client, batchMaxSize: 0 }), { code: 'CONFIG_INVALID', message: /batchMaxSize/ })
    t.throws(() => new PrismaMessageStore({ client, batchMaxWaitMs: -1 }), { code: 'CONFIG_INVALID' })
    t.throws(() => new PrismaMessageStore({ client, batchesInFlight: 0 }), { code: 'CONFIG_INVALID', message: /batchesInFlight/ })
    t.throws(() => new PrismaMessageStore({ client, batchesInFlight: 17 }), { code: 'CONFIG_INVALID', message: /batchesInFlight/ })
    t.throws(() => new PrismaMessageStore({ client, batchesInFlight: 2.5 }), { code: 'CONFIG_INVALID' })
    // A client made elsewhere has no pool of ours to open a pipelined connection on.
    const other = new PrismaClient({ adapter: new PrismaPg({ connectionString: TEST_DATABASE_URL }) })
    t.teardown(() => other.$disconnect())
    t.throws(() => new PrismaMessageStore({ client: other, batchesInFlight: 2 }), { code: 'CONFIG_INVALID', message: /batchesInFlight/ })
    t.doesNotThrow(() => new PrismaMessageStore({ client: other, disconnectOnClose: false }), 'by default it sends one batch at a time')
    t.throws(() => new PrismaMessageStore({ client, defaultRetention: { maxAgeMs: 1.5 } }), { code: 'CONFIG_INVALID' })
    t.throws(() => createPrismaClient({ connectionString: TEST_DATABASE_URL, schema: 'Bad-Name' }), { code: 'CONFIG_INVALID', message: /Bad-Name/ })
    t.throws(() => createPrismaClient({ connectionString: 'mysql://localhost/db' }), { code: 'CONFIG_INVALID' })
  })
})
