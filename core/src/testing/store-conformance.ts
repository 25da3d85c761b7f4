import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import type { AppendResult, DeadLetter, MessageStore, StoredMessage } from '../engines/store.js'
import { rejectsClosed } from './conformance-helpers.js'

/** What a conformance run's factory returns: handles on one shared storage. */
export interface StoreNodes {
  /**
   * At least one store, all on the same storage (several nodes of one cluster, e.g. one
   * database). An in-process engine may return the same instance several times.
   */
  readonly stores: MessageStore[]
  /** Closes whatever the factory opened (may assume some stores are already closed). */
  cleanup(): Promise<void>
}

/** Options of {@link storeConformance}. */
export interface StoreConformanceOptions {
  /**
   * Moves forward, by `ms`, the clock that every store `makeStores` returns uses for `ts` and
   * for age in `trim`. Without it the `maxAgeMs` subtest is skipped.
   */
  advanceClock?: (ms: number) => void | Promise<void>
}

/** How many callers the concurrency tests run; caller `i` uses handle `i % stores.length`. */
const CALLERS = 4

const seqs = (messages: readonly StoredMessage[]): number[] => messages.map((m) => m.seq)
const span = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/**
 * Registers, under a subtest named `name` (e.g. `'PrismaMessageStore'`), one tap subtest per
 * behaviour promised by the {@link MessageStore} doc comment. Each subtest calls `makeStores()`
 * for fresh handles and tears them down afterwards; every channel name carries a random suffix,
 * so a shared database needs no cleaning between tests or runs. Nothing memory-specific is
 * assumed: epochs and mids are only compared, and `data` is JSON. Resolves when every subtest
 * has finished.
 */
export async function storeConformance(
  t: Test,
  name: string,
  makeStores: () => Promise<StoreNodes>,
  options: StoreConformanceOptions = {},
): Promise<void> {
  const channel = (label: string): string => `conformance:${label}:${randomUUID()}`

  async function open(t: Test): Promise<(i: number) => MessageStore> {
    const { stores, cleanup } = await makeStores()
    t.teardown(cleanup)
    if (stores.length === 0) throw new Error('makeStores() returned no store')
    return (i) => stores[i % stores.length] as MessageStore
  }

  /** Appends `count` messages one after another; data is `{ n }` counting from 1. */
  async function fill(store: MessageStore, ch: string, count: number): Promise<StoredMessage[]> {
    const messages: StoredMessage[] = []
    for (let n = 1; n <= count; n++) {
      messages.push((await store.append({ channel: ch, from: 'alice', data: { n } })).message)
    }
    return messages
  }

  await t.test(name, async (t) => {
    t.test('append › numbers a channel 1, 2, 3 and stores what was given', async (t) => {
      const store = await open(t)
      const ch = channel('append')
      const data = { text: 'héllo ✓ 🎉 "quoted"', n: 1.5, nested: { list: [1, 'two', null, true] } }
      const first = await store(0).append({ channel: ch, from: 'alice', data })
      const second = await store(0).append({ channel: ch, from: 'system', data: 'plain' })
      const third = await store(0).append({ channel: ch, from: 'bob', data: null })
      t.same([first, second, third].map((r) => [r.message.seq, r.duplicate]), [[1, false], [2, false], [3, false]])
      t.same(first.message.data, data)
      t.match(first.message, { channel: ch, from: 'alice', seq: 1, epoch: String, mid: String, ts: Number })
      t.equal(second.message.from, 'system')
      const { epoch } = await store(1).position(ch)
      t.ok([first, second, third].every((r) => r.message.epoch === epoch), 'messages carry the stream epoch')
      t.same(await store(1).range(ch, 0, 10), [first.message, second.message, third.message], 'read back as appended')
    })

    t.test('append › dense seqs under concurrent appends from every handle', async (t) => {
      const store = await open(t)
      const ch = channel('dense')
      const results = await Promise.all(
        Array.from({ length: CALLERS * 250 }, (_, i) => store(i).append({ channel: ch, from: `u${i % CALLERS}`, data: { i } })),
      )
      const total = results.length
      t.same(results.map((r) => r.message.seq).sort((a, b) => a - b), span(1, total), `seqs are exactly 1..${total}`)
      t.equal(new Set(results.map((r) => r.message.mid)).size, total, 'every mid is distinct')
      t.equal((await store(1).position(ch)).seq, total)
      const stored = await store(2).range(ch, 0, total)
      t.same(seqs(stored), span(1, total), 'range returns each seq once, ascending')
      const bySeq = new Map(results.map((r) => [r.message.seq, r.message]))
      t.ok(stored.every((m) => bySeq.get(m.seq)?.mid === m.mid), 'the stored message at each seq is the one its append returned')
    })

    t.test('append › each caller’s awaited appends increase while others append concurrently', async (t) => {
      const store = await open(t)
      const ch = channel('interleaved')
      const loop = async (i: number): Promise<number[]> => {
        const got: number[] = []
        for (let n = 0; n < 50; n++) got.push((await store(i).append({ channel: ch, from: 'alice', data: n })).message.seq)
        return got
      }
      const loops = await Promise.all(Array.from({ length: CALLERS }, (_, i) => loop(i)))
      for (const [i, got] of loops.entries()) {
        t.ok(got.every((s, n) => n === 0 || s > (got[n - 1] ?? Infinity)), `caller ${i}'s seqs increase`, { got })
      }
      t.same(loops.flat().sort((a, b) => a - b), span(1, CALLERS * 50), 'together they are dense')
    })

    t.test('append › channels are numbered independently; mids are unique across channels', async (t) => {
      const store = await open(t)
      const red = channel('red')
      const blue = channel('blue')
      const a = await fill(store(0), red, 3)
      const b = await fill(store(1), blue, 2)
      t.same(seqs(a), [1, 2, 3])
      t.same(seqs(b), [1, 2])
      t.equal(new Set([...a, ...b].map((m) => m.mid)).size, 5)
    })

    t.test('idempotency › a repeated key returns the first message and appends nothing', async (t) => {
      const store = await open(t)
      const ch = channel('key')
      const first = await store(0).append({ channel: ch, from: 'alice', data: 'first', key: 'k1' })
      const again = await store(1).append({ channel: ch, from: 'bob', data: 'second', key: 'k1' })
      t.equal(first.duplicate, false)
      t.equal(again.duplicate, true)
      t.same(again.message, first.message, 'same seq, mid, from and data as the first')
      const other = await store(0).append({ channel: ch, from: 'alice', data: 'other', key: 'k2' })
      t.equal(other.message.seq, 2, 'another key appends')
      t.same(seqs(await store(0).range(ch, 0, 10)), [1, 2])
    })

    t.test('idempotency › appends without a key are never duplicates', async (t) => {
      const store = await open(t)
      const ch = channel('no-key')
      const a = await store(0).append({ channel: ch, from: 'alice', data: 'same' })
      const b = await store(0).append({ channel: ch, from: 'alice', data: 'same' })
      t.same([a.duplicate, b.duplicate], [false, false])
      t.same([a.message.seq, b.message.seq], [1, 2])
    })

    t.test('idempotency › keys are per channel', async (t) => {
      const store = await open(t)
      const red = channel('key-red')
      const blue = channel('key-blue')
      await fill(store(0), blue, 2)
      const a = await store(0).append({ channel: red, from: 'alice', data: 'x', key: 'shared' })
      const b = await store(1).append({ channel: blue, from: 'alice', data: 'x', key: 'shared' })
      t.same([a.duplicate, b.duplicate], [false, false])
      t.same([a.message.seq, b.message.seq], [1, 3])
      t.not(a.message.mid, b.message.mid)
    })

    t.test('idempotency › concurrent appends with one key store one message', async (t) => {
      const store = await open(t)
      const ch = channel('key-race')
      const results: AppendResult[] = await Promise.all(
        Array.from({ length: CALLERS * 10 }, (_, i) => store(i).append({ channel: ch, from: 'alice', data: i, key: 'once' })),
      )
      t.equal(results.filter((r) => !r.duplicate).length, 1, 'exactly one append is not a duplicate')
      t.equal(new Set(results.map((r) => `${r.message.seq}/${r.message.mid}`)).size, 1, 'all return the same message')
      t.equal((await store(0).position(ch)).seq, 1)
      t.equal((await store(0).range(ch, 0, 100)).length, 1)
    })

    t.test('range › after a seq, ascending, at most limit', async (t) => {
      const store = await open(t)
      const ch = channel('range')
      const all = await fill(store(0), ch, 10)
      t.same(await store(1).range(ch, 0, 100), all, 'after 0: everything')
      t.same(seqs(await store(1).range(ch, 4, 3)), [5, 6, 7], 'after 4, limit 3')
      t.same(seqs(await store(1).range(ch, 8, 100)), [9, 10], 'limit past the end')
      t.same(await store(1).range(ch, 10, 100), [], 'after the latest')
      t.same(await store(1).range(ch, 50, 100), [], 'far past the end')
      t.same(await store(1).range(channel('empty'), 0, 100), [], 'a channel never appended to')
    })

    t.test('history › the page before `before`, oldest first', async (t) => {
      const store = await open(t)
      const ch = channel('history')
      const all = await fill(store(0), ch, 10)
      t.same(seqs(await store(1).history(ch, { limit: 3 })), [8, 9, 10], 'the latest page')
      t.same(seqs(await store(1).history(ch, { before: 8, limit: 3 })), [5, 6, 7], 'before 8')
      t.same(seqs(await store(1).history(ch, { before: 3, limit: 5 })), [1, 2], 'fewer than limit left')
      t.same(await store(1).history(ch, { before: 1, limit: 5 }), [], 'nothing before seq 1')
      t.same(seqs(await store(1).history(ch, { before: 100, limit: 2 })), [9, 10], 'before past the latest')
      t.same(await store(1).history(ch, { limit: 100 }), all, 'limit past the start: everything')
      t.same(await store(1).history(channel('empty'), { limit: 10 }), [], 'a channel never appended to')
    })

    t.test('position › a channel never appended to: seq 0, stable epoch', async (t) => {
      const store = await open(t)
      const ch = channel('fresh')
      const first = await store(0).position(ch)
      t.match(first, { epoch: String, seq: 0, oldestSeq: 1 })
      t.same(await store(0).position(ch), first, 'stable across calls')
      t.same(await store(1).position(ch), first, 'and across handles')
    })

    t.test('position › follows appends; the epoch does not change', async (t) => {
      const store = await open(t)
      const ch = channel('position')
      const before = await store(0).position(ch)
      const messages = await fill(store(1), ch, 4)
      const after = await store(2).position(ch)
      t.same(after, { epoch: before.epoch, seq: 4, oldestSeq: 1 })
      t.ok(messages.every((m) => m.epoch === before.epoch), 'messages carry it')
    })

    t.test('ack › cumulative and never backwards', async (t) => {
      const store = await open(t)
      const ch = channel('ack')
      await fill(store(0), ch, 5)
      t.equal(await store(0).cursor(ch, 'alice'), 0, 'never acked')
      await store(0).ack(ch, 'alice', 3)
      t.equal(await store(1).cursor(ch, 'alice'), 3, 'visible on every handle')
      await store(1).ack(ch, 'alice', 2)
      t.equal(await store(0).cursor(ch, 'alice'), 3, 'a lower ack changes nothing')
      await store(0).ack(ch, 'alice', 5)
      t.equal(await store(0).cursor(ch, 'alice'), 5)
    })

    t.test('ack › never past the latest seq', async (t) => {
      const store = await open(t)
      const ch = channel('ack-clamp')
      await fill(store(0), ch, 4)
      await store(0).ack(ch, 'alice', 100)
      t.equal(await store(0).cursor(ch, 'alice'), 4, 'clamped to the latest seq')
      await fill(store(0), ch, 2)
      t.equal(await store(0).cursor(ch, 'alice'), 4, 'new messages are not acked')
      const empty = channel('ack-empty')
      await store(0).ack(empty, 'alice', 7)
      t.equal(await store(0).cursor(empty, 'alice'), 0, 'a channel never appended to stays at 0')
    })

    t.test('ack › cursors are per user and per channel', async (t) => {
      const store = await open(t)
      const red = channel('ack-red')
      const blue = channel('ack-blue')
      await fill(store(0), red, 5)
      await fill(store(0), blue, 5)
      await store(0).ack(red, 'alice', 4)
      await store(0).ack(blue, 'bob', 2)
      const pairs = [[red, 'alice'], [red, 'bob'], [blue, 'alice'], [blue, 'bob']] as const
      t.same(await Promise.all(pairs.map(([ch, user]) => store(1).cursor(ch, user))), [4, 0, 0, 2])
    })

    t.test('ack › concurrent acks keep the highest', async (t) => {
      const store = await open(t)
      const ch = channel('ack-race')
      await fill(store(0), ch, 20)
      await Promise.all([7, 20, 3, 15, 1, 12, 19, 5].map((seq, i) => store(i).ack(ch, 'alice', seq)))
      t.equal(await store(0).cursor(ch, 'alice'), 20)
    })

    t.test('trim › maxMessages keeps the latest; seqs do not change', async (t) => {
      const store = await open(t)
      const ch = channel('trim-count')
      const all = await fill(store(0), ch, 10)
      t.equal(await store(1).trim(ch, { maxMessages: 4 }), 6, 'resolves with how many were trimmed')
      t.same(await store(0).position(ch), { epoch: all[0]?.epoch, seq: 10, oldestSeq: 7 })
      t.same(await store(0).range(ch, 0, 100), all.slice(6), 'range starts at oldestSeq, messages unchanged')
      t.same(seqs(await store(0).range(ch, 2, 100)), [7, 8, 9, 10], 'also after a trimmed seq')
      t.same(seqs(await store(0).history(ch, { limit: 100 })), [7, 8, 9, 10])
      t.same(await store(0).history(ch, { before: 7, limit: 10 }), [], 'nothing before oldestSeq')
      t.equal(await store(1).trim(ch, { maxMessages: 4 }), 0, 'trimming again trims nothing')
      t.equal((await store(0).append({ channel: ch, from: 'alice', data: 'next' })).message.seq, 11, 'numbering goes on')
    })

    t.test('trim › everything: oldestSeq is seq + 1', async (t) => {
      const store = await open(t)
      const ch = channel('trim-all')
      const all = await fill(store(0), ch, 3)
      t.equal(await store(0).trim(ch, { maxMessages: 0 }), 3)
      t.same(await store(1).position(ch), { epoch: all[0]?.epoch, seq: 3, oldestSeq: 4 })
      t.same(await store(1).range(ch, 0, 10), [])
      t.same(await store(1).history(ch, { limit: 10 }), [])
      t.equal((await store(0).append({ channel: ch, from: 'alice', data: 'next' })).message.seq, 4)
      t.equal((await store(0).position(ch)).oldestSeq, 4)
    })

    t.test('trim › a channel never appended to trims nothing', async (t) => {
      const store = await open(t)
      const ch = channel('trim-empty')
      t.equal(await store(0).trim(ch, { maxMessages: 0, maxAgeMs: 0 }), 0)
      t.match(await store(0).position(ch), { seq: 0, oldestSeq: 1 })
    })

    const skipAge = options.advanceClock === undefined ? 'no advanceClock option: the clock cannot be controlled' : false
    t.test('trim › maxAgeMs trims messages older than it', { skip: skipAge }, async (t) => {
      const advance = options.advanceClock ?? (() => {})
      const store = await open(t)
      const ch = channel('trim-age')
      const old = await fill(store(0), ch, 3)
      await advance(60_000)
      const young = await fill(store(1), ch, 2)
      t.ok((young[0]?.ts ?? 0) - (old[2]?.ts ?? 0) >= 60_000, 'ts follows the clock')
      t.equal(await store(0).trim(ch, { maxAgeMs: 30_000 }), 3, 'the three old ones')
      t.match(await store(1).position(ch), { seq: 5, oldestSeq: 4 })
      t.same(seqs(await store(1).range(ch, 0, 10)), [4, 5])
      t.equal(await store(0).trim(ch, { maxAgeMs: 30_000 }), 0, 'the young ones stay')
      await advance(60_000)
      t.equal(await store(0).trim(ch, { maxAgeMs: 30_000 }), 2)
      t.match(await store(1).position(ch), { seq: 5, oldestSeq: 6 })
    })

    /**
     * A namespace of its own with LIKE wildcards in it, and channels outside it that a careless
     * prefix match would take: the namespace itself, a look-alike, a longer namespace.
     */
    const namespaced = (label: string): { ns: string; outside: string[] } => {
      const id = randomUUID()
      const ns = `t%n_${label}-${id}`
      return { ns, outside: [ns, `tXnX${label}-${id}:a`, `t%n_${label}-${id}x:a`, `conformance:${label}:${id}`] }
    }

    t.test('trimNamespace › maxMessages applies to each channel of the namespace and nothing else', async (t) => {
      const store = await open(t)
      const { ns, outside } = namespaced('tn-count')
      const [a, b, empty] = [`${ns}:a`, `${ns}:b:c`, `${ns}:empty`]
      const all = await fill(store(0), a, 10)
      await fill(store(1), b, 2)
      const { epoch } = await store(0).position(empty)
      for (const ch of outside) await fill(store(0), ch, 10)
      t.equal(await store(1).trimNamespace(ns, { maxMessages: 3 }), 7, 'resolves with how many were trimmed in all')
      t.same(await store(0).position(a), { epoch: all[0]?.epoch, seq: 10, oldestSeq: 8 })
      t.same(await store(0).range(a, 0, 100), all.slice(7), 'the latest three stay, unchanged')
      t.match(await store(0).position(b), { seq: 2, oldestSeq: 1 }, 'a channel under the limit keeps everything')
      t.same(await store(0).position(empty), { epoch, seq: 0, oldestSeq: 1 }, 'a channel never appended to is unchanged')
      for (const ch of outside) {
        t.match(await store(1).position(ch), { seq: 10, oldestSeq: 1 }, `${ch} is outside the namespace: untouched`)
      }
      t.equal(await store(0).trimNamespace(ns, { maxMessages: 3 }), 0, 'trimming again trims nothing')
      t.equal(await store(0).trimNamespace(ns, { maxMessages: 0 }), 5, 'maxMessages 0 trims everything left')
      t.match(await store(1).position(a), { seq: 10, oldestSeq: 11 })
      t.match(await store(1).position(b), { seq: 2, oldestSeq: 3 })
      t.same(await store(1).history(a, { limit: 10 }), [])
      t.equal((await store(1).append({ channel: a, from: 'alice', data: 'next' })).message.seq, 11, 'numbering goes on')
      t.match(await store(0).position(a), { seq: 11, oldestSeq: 11 })
      t.equal(await store(0).trimNamespace(`absent-${randomUUID()}`, { maxMessages: 0, maxAgeMs: 0 }), 0, 'an unknown namespace trims nothing')
    })

    t.test('trimNamespace › maxAgeMs trims the old prefix of each channel of the namespace', { skip: skipAge }, async (t) => {
      const advance = options.advanceClock ?? (() => {})
      const store = await open(t)
      const { ns, outside } = namespaced('tn-age')
      const [a, b, c] = [`${ns}:a`, `${ns}:b`, `${ns}:c`]
      await fill(store(0), a, 3)
      await fill(store(1), b, 2)
      for (const ch of outside) await fill(store(0), ch, 2)
      await advance(60_000)
      await fill(store(1), a, 2)
      await fill(store(0), c, 1)
      t.equal(await store(0).trimNamespace(ns, { maxAgeMs: 30_000 }), 5, 'the three old ones of a, the two of b')
      t.match(await store(1).position(a), { seq: 5, oldestSeq: 4 })
      t.same(seqs(await store(1).range(a, 0, 10)), [4, 5])
      t.match(await store(1).position(b), { seq: 2, oldestSeq: 3 }, 'all of b was old')
      t.match(await store(1).position(c), { seq: 1, oldestSeq: 1 }, 'c is young')
      for (const ch of outside) {
        t.match(await store(1).position(ch), { seq: 2, oldestSeq: 1 }, `${ch} is outside the namespace: untouched`)
      }
      t.equal(await store(1).trimNamespace(ns, { maxAgeMs: 30_000 }), 0, 'the young ones stay')
      await advance(60_000)
      t.equal(await store(1).trimNamespace(ns, { maxAgeMs: 30_000, maxMessages: 10 }), 3, 'both limits at once')
      t.match(await store(0).position(a), { seq: 5, oldestSeq: 6 })
      t.match(await store(0).position(c), { seq: 1, oldestSeq: 2 })
    })

    const letter = (ch: string, seq: number, user: string, attempts = 5): Omit<DeadLetter, 'ts'> =>
      ({ channel: ch, seq, user, mid: randomUUID(), reason: 'max-attempts', attempts })
    const keyOf = (l: Pick<DeadLetter, 'channel' | 'seq' | 'user'>): string => `${l.channel}/${l.seq}/${l.user}`

    t.test('dead letters › recorded once per (channel, seq, user)', async (t) => {
      const store = await open(t)
      const ch = channel('dead-once')
      const first = letter(ch, 3, 'alice')
      t.equal(await store(0).deadLetter(first), true, 'the first record resolves true')
      t.equal(await store(1).deadLetter({ ...letter(ch, 3, 'alice', 9), reason: 'other' }), false, 'a repeat resolves false')
      t.match(await store(1).deadLetters({ channel: ch }), [{ ...first, ts: Number }], 'the first record is kept, unchanged')
      t.equal(await store(0).deadLetter(letter(ch, 3, 'bob')), true, 'another user is another letter')
      t.equal(await store(0).deadLetter(letter(ch, 4, 'alice')), true, 'another seq is another letter')
      t.equal(await store(0).deadLetter(letter(channel('dead-other'), 3, 'alice')), true, 'another channel is another letter')
      const race = await Promise.all(Array.from({ length: CALLERS * 5 }, (_, i) => store(i).deadLetter(letter(ch, 7, 'carol'))))
      t.equal(race.filter(Boolean).length, 1, 'concurrent records from every handle: exactly one resolves true')
      t.equal((await store(0).deadLetters({ channel: ch })).length, 4)
    })

    t.test('dead letters › listed oldest first, filtered by channel and/or user, at most limit', async (t) => {
      const store = await open(t)
      const [red, blue] = [channel('dead-red'), channel('dead-blue')]
      const [alice, bob] = [`alice-${randomUUID()}`, `bob-${randomUUID()}`]
      const all = [letter(red, 1, alice), letter(red, 1, bob), letter(blue, 1, alice), letter(red, 2, alice), letter(blue, 3, bob)]
      for (const [i, l] of all.entries()) {
        t.equal(await store(i).deadLetter(l), true, `letter ${i} recorded`)
        await options.advanceClock?.(1_000)
      }
      const keys = (letters: DeadLetter[]): string[] => letters.map(keyOf)
      const expect = (...picks: number[]): string[] => picks.map((i) => keyOf(all[i] as DeadLetter))
      t.same(keys(await store(1).deadLetters({ channel: red })), expect(0, 1, 3), 'by channel')
      t.same(keys(await store(1).deadLetters({ user: alice })), expect(0, 2, 3), 'by user, across channels')
      t.same(keys(await store(1).deadLetters({ channel: red, user: alice })), expect(0, 3), 'by both')
      t.same(keys(await store(1).deadLetters({ channel: red, limit: 2 })), expect(0, 1), 'at most limit, oldest first')
      t.same(await store(1).deadLetters({ channel: red, limit: 0 }), [], 'limit 0')
      const everything = (await store(2).deadLetters({ limit: 100_000 })).filter((l) => l.channel === red || l.channel === blue)
      t.same(keys(everything), expect(0, 1, 2, 3, 4), 'no filter: every letter, in the order recorded')
      t.match(everything[0], { ...all[0], ts: Number })
      const ts = everything.map((l) => l.ts)
      t.ok(ts.every((v, i) => i === 0 || v >= (ts[i - 1] ?? Infinity)), 'ts never decreases', { ts })
      const many = channel('dead-many')
      await Promise.all(Array.from({ length: 101 }, (_, i) => store(i).deadLetter(letter(many, i + 1, alice))))
      t.equal((await store(0).deadLetters({ channel: many })).length, 100, 'limit defaults to 100')
    })

    t.test('close › later calls reject with CLOSED', async (t) => {
      const store = await open(t)
      const ch = channel('closed')
      const s = store(0)
      await fill(s, ch, 1)
      await s.close()
      await rejectsClosed(t, () => s.append({ channel: ch, from: 'alice', data: 'x' }), 'append')
      await rejectsClosed(t, () => s.position(ch), 'position')
      await rejectsClosed(t, () => s.range(ch, 0, 10), 'range')
      await rejectsClosed(t, () => s.history(ch, { limit: 10 }), 'history')
      await rejectsClosed(t, () => s.cursor(ch, 'alice'), 'cursor')
      await rejectsClosed(t, () => s.ack(ch, 'alice', 1), 'ack')
      await rejectsClosed(t, () => s.trim(ch, { maxMessages: 0 }), 'trim')
      await rejectsClosed(t, () => s.trimNamespace('conformance', { maxMessages: 0 }), 'trimNamespace')
      await rejectsClosed(t, () => s.deadLetter(letter(ch, 1, 'alice')), 'deadLetter')
      await rejectsClosed(t, () => s.deadLetters({ channel: ch }), 'deadLetters')
    })

    t.test('close › is idempotent', async (t) => {
      const store = await open(t)
      await store(0).close()
      await store(0).close()
      await Promise.all([store(0).close(), store(0).close()])
      t.pass('closing again resolves')
    })
  })
}
