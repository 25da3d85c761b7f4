import { Writable } from 'node:stream'
import { setTimeout as delay } from 'node:timers/promises'
import { pino } from 'pino'
import t from 'tap'
import { MemoryRetentionScheduler } from '../../../src/engines/memory/memory-retention-scheduler.js'
import type { RetentionTick } from '../../../src/engines/retention.js'

const timers = (): number => process.getActiveResourcesInfo().filter(r => r === 'Timeout').length

t.test('MemoryRetentionScheduler', async t => {
  t.test('runs › every interval, each with its slot', async t => {
    const scheduler = new MemoryRetentionScheduler({ intervalMs: 5 })
    t.teardown(() => scheduler.close())
    const ticks: RetentionTick[] = []
    const before = Date.now()
    await new Promise<void>(resolve => {
      void scheduler.start(async tick => {
        ticks.push(tick)
        if (ticks.length === 3) resolve()
      })
    })
    t.ok(ticks.every((tick, i) => tick.slot >= (ticks[i - 1]?.slot ?? before)), 'slots never go back', { ticks })
  })

  t.test('runs › never overlap; an interval due during a run gets one run right after it', async t => {
    const scheduler = new MemoryRetentionScheduler({ intervalMs: 10 })
    t.teardown(() => scheduler.close())
    const events: string[] = []
    let active = 0
    let most = 0
    await new Promise<void>(resolve => {
      let runs = 0
      void scheduler.start(async () => {
        const n = ++runs
        active += 1
        most = Math.max(most, active)
        events.push(`start ${n}`)
        // The interval timer was armed before this one, so it falls due (at least twice) meanwhile.
        if (n === 1) await delay(35)
        events.push(`end ${n}`)
        active -= 1
        if (n === 2) resolve()
      })
    })
    t.equal(most, 1, 'one run at a time')
    t.same(events.slice(0, 4), ['start 1', 'end 1', 'start 2', 'end 2'])
  })

  t.test('runNow › runs at once, after a run in flight; rejects with what the run rejected with', async t => {
    const scheduler = new MemoryRetentionScheduler({ intervalMs: 3_600_000 })
    t.teardown(() => scheduler.close())
    await scheduler.runNow()
    t.pass('before start: nothing to run, resolves')
    let active = 0
    let most = 0
    let runs = 0
    let fail = false
    await scheduler.start(async () => {
      runs += 1
      active += 1
      most = Math.max(most, active)
      await delay(5)
      active -= 1
      if (fail) throw new Error('expected by the test')
    })
    await Promise.all([scheduler.runNow(), scheduler.runNow(), scheduler.runNow()])
    t.equal(runs, 3)
    t.equal(most, 1, 'one after another')
    fail = true
    await t.rejects(scheduler.runNow(), { message: 'expected by the test' })
  })

  t.test('runs › a run that rejects is logged; the next interval runs anyway', async t => {
    const lines: { level: number; msg: string }[] = []
    const logger = pino({ level: 'warn' }, new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string })
        callback()
      },
    }))
    const scheduler = new MemoryRetentionScheduler({ intervalMs: 5, logger })
    t.teardown(() => scheduler.close())
    let runs = 0
    await new Promise<void>(resolve => {
      void scheduler.start(async () => {
        runs += 1
        if (runs === 1) throw new Error('expected by the test')
        resolve()
      })
    })
    t.match(lines, [{ level: 50, msg: 'retention run failed' }])
  })

  t.test('shared by nodes › each interval runs once, with the run given last', async t => {
    const scheduler = new MemoryRetentionScheduler({ intervalMs: 3_600_000 })
    t.teardown(() => scheduler.close())
    const ran: string[] = []
    await scheduler.start(async () => void ran.push('a'))
    await scheduler.start(async () => void ran.push('b'))
    await scheduler.runNow()
    t.same(ran, ['b'])
  })

  t.test('close › waits for the run in flight, then nothing runs; idempotent; no timer left', async t => {
    const idle = timers()
    const scheduler = new MemoryRetentionScheduler({ intervalMs: 5 })
    let runs = 0
    let finished = false
    let entered: () => void = () => {}
    const running = new Promise<void>(resolve => (entered = resolve))
    await scheduler.start(async () => {
      runs += 1
      entered()
      await delay(20)
      finished = true
    })
    t.equal(timers(), idle + 1, 'one interval timer')
    await running
    const closing = scheduler.close()
    await Promise.all([closing, scheduler.close()])
    t.ok(finished, 'close() resolved after the run in flight')
    t.equal(runs, 1)
    t.equal(timers(), idle, 'the timer is gone')
    await t.rejects(scheduler.start(async () => {}), { code: 'CLOSED' })
    await t.rejects(scheduler.runNow(), { code: 'CLOSED' })
    t.equal(runs, 1, 'nothing ran after close')
  })

  t.test('config › intervalMs must be a positive integer', async t => {
    for (const intervalMs of [0, -1, 1.5, Number.NaN]) {
      t.throws(() => new MemoryRetentionScheduler({ intervalMs }), { code: 'CONFIG_INVALID', message: /intervalMs/ })
    }
  })
})
