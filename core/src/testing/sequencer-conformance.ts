import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import type { Sequencer } from '../engines/sequencer.js'
import { rejectsClosed } from './conformance-helpers.js'

/** What a conformance run's factory returns: handles on one shared sequencer state. */
export interface SequencerNodes {
  /**
   * At least one sequencer, all sharing one state (several nodes of one cluster). An in-process
   * engine may return the same instance several times.
   */
  readonly sequencers: Sequencer[]
  /** Closes whatever the factory opened (may assume some sequencers are already closed). */
  cleanup(): Promise<void>
}

/** How many callers the concurrency tests run; caller `i` uses handle `i % sequencers.length`. */
const CALLERS = 4

/**
 * Registers, under a subtest named `name` (e.g. `'RedisSequencer'`), one tap subtest per
 * behaviour promised by the {@link Sequencer} doc comment. Each subtest calls `makeSequencers()`
 * for fresh handles and tears them down afterwards; channel names carry a random suffix, so a
 * shared backend needs no cleaning between runs. Seqs are only required to be distinct,
 * increasing positive integers (not dense), and one epoch is assumed while nothing restarts.
 * Resolves when every subtest has finished.
 */
export async function sequencerConformance(
  t: Test,
  name: string,
  makeSequencers: () => Promise<SequencerNodes>,
): Promise<void> {
  const channel = (label: string): string => `conformance:${label}:${randomUUID()}`

  async function open(t: Test): Promise<(i: number) => Sequencer> {
    const { sequencers, cleanup } = await makeSequencers()
    t.teardown(cleanup)
    if (sequencers.length === 0) throw new Error('makeSequencers() returned no sequencer')
    return (i) => sequencers[i % sequencers.length] as Sequencer
  }

  await t.test(name, async (t) => {
    t.test('current › is seq 0 for a channel never numbered', async (t) => {
      const handle = await open(t)
      const ch = channel('unused')
      t.equal((await handle(0).current(ch)).seq, 0)
      t.equal((await handle(1).current(ch)).seq, 0, 'on every handle')
    })

    t.test('next › hands out increasing positive integers to one caller', async (t) => {
      const handle = await open(t)
      const ch = channel('sequential')
      const got: number[] = []
      for (let i = 0; i < 20; i++) got.push((await handle(0).next(ch)).seq)
      t.ok(got.every((seq) => Number.isSafeInteger(seq) && seq > 0), 'positive integers', { got })
      t.ok(increasing(got), 'each greater than the one before', { got })
    })

    t.test('next › distinct under concurrency from every handle, one epoch', async (t) => {
      const handle = await open(t)
      const ch = channel('concurrent')
      const calls = Array.from({ length: CALLERS * 250 }, (_, i) => handle(i).next(ch))
      const results = await Promise.all(calls)
      const seqs = results.map((r) => r.seq)
      t.equal(new Set(seqs).size, seqs.length, `${seqs.length} distinct seqs`)
      t.equal(new Set(results.map((r) => r.epoch)).size, 1, 'all in one epoch')
      const latest = await handle(0).current(ch)
      t.equal(latest.seq, Math.max(...seqs), 'current is the highest seq handed out')
    })

    t.test('next › each caller’s awaited calls increase while others call concurrently', async (t) => {
      const handle = await open(t)
      const ch = channel('interleaved')
      const loop = async (i: number): Promise<number[]> => {
        const got: number[] = []
        for (let n = 0; n < 50; n++) got.push((await handle(i).next(ch)).seq)
        return got
      }
      const loops = await Promise.all(Array.from({ length: CALLERS }, (_, i) => loop(i)))
      for (const [i, got] of loops.entries()) t.ok(increasing(got), `caller ${i}'s seqs increase`, { got })
      t.equal(new Set(loops.flat()).size, CALLERS * 50, 'no seq handed out twice')
    })

    t.test('next › channels are numbered independently', async (t) => {
      const handle = await open(t)
      const red = channel('red')
      const blue = channel('blue')
      for (let i = 0; i < 5; i++) await handle(0).next(red)
      t.equal((await handle(1).current(blue)).seq, 0, 'numbering red leaves blue untouched')
      const first = await handle(1).next(blue)
      t.ok(first.seq > 0)
      t.equal((await handle(0).current(red)).seq, (await handle(1).current(red)).seq, 'red is the same on every handle')
      t.equal((await handle(0).current(blue)).seq, first.seq, 'blue has its own counter')
    })

    t.test('current › reflects the latest next, on every handle', async (t) => {
      const handle = await open(t)
      const ch = channel('current')
      for (let i = 0; i < 3; i++) {
        const issued = await handle(i).next(ch)
        t.same(await handle(i + 1).current(ch), issued, `after next #${i + 1}`)
      }
    })

    t.test('close › later calls reject with CLOSED', async (t) => {
      const handle = await open(t)
      const ch = channel('closed')
      await handle(0).next(ch)
      await handle(0).close()
      await rejectsClosed(t, () => handle(0).next(ch), 'next')
      await rejectsClosed(t, () => handle(0).current(ch), 'current')
    })

    t.test('close › is idempotent', async (t) => {
      const handle = await open(t)
      await handle(0).close()
      await handle(0).close()
      await Promise.all([handle(0).close(), handle(0).close()])
      t.pass('closing again resolves')
    })
  })
}

function increasing(seqs: readonly number[]): boolean {
  return seqs.every((seq, i) => i === 0 || seq > (seqs[i - 1] ?? Infinity))
}
