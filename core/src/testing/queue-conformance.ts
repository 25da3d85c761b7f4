import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import { isSwitchboardError } from '../errors.js'
import type { RedeliveryJob, RedeliveryQueue } from '../engines/queue.js'

/** What a conformance run's factory returns: handles on one shared queue. */
export interface QueueNodes {
  /**
   * At least one queue, all sharing the same jobs (several nodes of one cluster, e.g. one Redis
   * and queue name). An in-process engine may return the same instance several times. Retry
   * delays must be tens of ms: the suite takes 300 ms without a run as "nothing more is due".
   */
  readonly queues: RedeliveryQueue[]
  /** Closes whatever the factory opened (may assume some queues are already closed). */
  cleanup(): Promise<void>
}

/** Longest wait for a handler run the suite expects (ms): generous, so slow machines pass. */
const WAIT_MS = 10_000
/** Delay of the sentinel job that marks "everything due earlier has run" (ms). */
const SETTLE_MS = 300

/** One handler run, as seen by the suite. */
interface Run {
  readonly job: RedeliveryJob
  /** Index of the handle whose handler ran it. */
  readonly node: number
}

/** Every handler run of one subtest, with promises that resolve when runs reach a condition. */
class Runs {
  readonly all: Run[] = []
  readonly #waiters = new Set<() => void>()

  record(run: Run): void {
    this.all.push(run)
    for (const check of [...this.#waiters]) check()
  }

  /** How many times `job` ran. */
  count(job: RedeliveryJob): number {
    return this.all.filter((run) => sameJob(run.job, job)).length
  }

  /** Resolves once `done()` holds; rejects naming `what` after `timeoutMs`. */
  until(done: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
    if (done()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`))
      }, timeoutMs)
      const check = (): void => {
        if (!done()) return
        clearTimeout(timer)
        this.#waiters.delete(check)
        resolve()
      }
      this.#waiters.add(check)
    })
  }
}

const sameJob = (a: RedeliveryJob, b: RedeliveryJob): boolean =>
  a.channel === b.channel && a.user === b.user && a.seq === b.seq && a.attempt === b.attempt

/** Runs before the handler returns; what it throws is what the handler throws. `n` counts this job's runs from 1. */
type Hook = (job: RedeliveryJob, n: number) => void | Promise<void>

/**
 * Registers, under a subtest named `name` (e.g. `'BullmqRedeliveryQueue'`), one tap subtest per
 * behaviour promised by the {@link RedeliveryQueue} doc comment. Each subtest calls
 * `makeQueues()` for fresh handles (several handles are several nodes sharing one queue), sets
 * a handler on each, and tears them down afterwards; channels carry a random suffix. Waits are
 * on handler runs, bounded by generous timeouts; timing is never asserted precisely. Only the
 * negative checks after `close()` wait a fixed time. Resolves when every subtest has finished.
 */
export async function queueConformance(t: Test, name: string, makeQueues: () => Promise<QueueNodes>): Promise<void> {
  const channel = (label: string): string => `conformance:${label}:${randomUUID()}`
  const job = (ch: string, seq = 1, user = 'bob', attempt = 1): RedeliveryJob => ({ channel: ch, user, seq, attempt })

  async function open(t: Test): Promise<RedeliveryQueue[]> {
    const { queues, cleanup } = await makeQueues()
    t.teardown(cleanup)
    if (queues.length === 0) throw new Error('makeQueues() returned no queue')
    return queues
  }

  /** Sets a recording handler (running `hook`) on every handle, or on those listed in `nodes`. */
  function start(queues: RedeliveryQueue[], runs: Runs, hook?: Hook, nodes = queues.map((_, i) => i)): void {
    for (const node of nodes) {
      queues[node]?.process(async (job) => {
        runs.record({ job, node })
        await hook?.(job, runs.count(job))
      })
    }
  }

  /** Schedules a sentinel due after `SETTLE_MS` and waits for it: every job due well before it has run by then. */
  async function settle(queue: RedeliveryQueue, runs: Runs): Promise<void> {
    const sentinel = job(channel('sentinel'))
    await queue.schedule(sentinel, SETTLE_MS)
    await runs.until(() => runs.count(sentinel) > 0, 'the sentinel job')
  }

  const at = (queues: RedeliveryQueue[], i: number): RedeliveryQueue => queues[i % queues.length] as RedeliveryQueue

  await t.test(name, async (t) => {
    t.test('schedule › a job runs after its delay, once, with the job as scheduled', async (t) => {
      const queues = await open(t)
      const runs = new Runs()
      let scheduled = false
      const early: RedeliveryJob[] = []
      start(queues, runs, (j) => void (scheduled ? undefined : early.push(j)))
      const scheduledJob = job(`dm:alice:bob:${randomUUID()}`, 2 ** 40, 'üser/with%odd:chars', 3)
      await at(queues, 1).schedule(scheduledJob, 40)
      scheduled = true
      await runs.until(() => runs.count(scheduledJob) > 0, 'the job')
      t.same(early, [], 'it did not run before schedule resolved')
      t.same(runs.all[0]?.job, scheduledJob, 'the handler got the job as scheduled')
      await settle(at(queues, 0), runs)
      t.equal(runs.count(scheduledJob), 1, 'it ran once')
    })

    t.test('schedule › a job that fell due before any node processed runs once one does', async (t) => {
      const queues = await open(t)
      const runs = new Runs()
      const due = job(channel('before-process'))
      await at(queues, 0).schedule(due, 10)
      await sleep(100)
      t.equal(runs.count(due), 0, 'no handler yet')
      start(queues, runs, undefined, [queues.length - 1])
      await runs.until(() => runs.count(due) > 0, 'the job')
      await settle(at(queues, 0), runs)
      t.equal(runs.count(due), 1)
    })

    t.test('schedule › one schedule runs once across every node', async (t) => {
      const queues = await open(t)
      const runs = new Runs()
      start(queues, runs)
      const ch = channel('once')
      const jobs = Array.from({ length: 30 }, (_, i) => job(ch, i + 1, `user${i % 3}`))
      await Promise.all(jobs.map((j, i) => at(queues, i).schedule(j, 20 + (i % 4) * 10)))
      await runs.until(() => jobs.every((j) => runs.count(j) > 0), 'every job')
      await settle(at(queues, 0), runs)
      t.same(jobs.map((j) => runs.count(j)), jobs.map(() => 1), 'each job ran exactly once')
    })

    t.test('schedule › the same job scheduled again while pending runs once', async (t) => {
      const queues = await open(t)
      const runs = new Runs()
      start(queues, runs)
      const ch = channel('duplicate')
      const twice = job(ch, 5)
      await Promise.all(Array.from({ length: queues.length * 3 }, (_, i) => at(queues, i).schedule(twice, 50)))
      await at(queues, 0).schedule(twice, 10)
      const other = job(ch, 5, 'bob', 2)
      await at(queues, 1).schedule(other, 50)
      await runs.until(() => runs.count(twice) > 0 && runs.count(other) > 0, 'both jobs')
      await settle(at(queues, 0), runs)
      t.equal(runs.count(twice), 1, 'scheduled from every handle, concurrently and again: one run')
      t.equal(runs.count(other), 1, 'another attempt is another job')
    })

    t.test('schedule › once a job has run, scheduling it again runs it again', async (t) => {
      const queues = await open(t)
      const runs = new Runs()
      start(queues, runs)
      const again = job(channel('again'))
      await at(queues, 0).schedule(again, 10)
      await runs.until(() => runs.count(again) === 1, 'the first run')
      // The run may still be finishing (no longer pending only once it has), so schedule until it runs.
      for (let tries = 1; runs.count(again) < 2; tries++) {
        if (tries > 50) throw new Error('the job never ran a second time')
        await at(queues, tries).schedule(again, 10)
        await runs.until(() => runs.count(again) >= 2, 'the second run', 100).catch(() => undefined)
      }
      t.equal(runs.count(again), 2)
    })

    t.test('retry › a handler that throws is retried until it succeeds', async (t) => {
      const queues = await open(t)
      const runs = new Runs()
      const flaky = job(channel('retry'), 9)
      start(queues, runs, (j, n) => {
        if (sameJob(j, flaky) && n <= 2) throw new Error(`failure ${n} (expected by the test)`)
      })
      await at(queues, 0).schedule(flaky, 10)
      await runs.until(() => runs.count(flaky) >= 3, 'two failed runs and a third')
      await settle(at(queues, 0), runs)
      t.equal(runs.count(flaky), 3, 'no run after the successful one')
    })

    t.test('close › waits for running handlers', async (t) => {
      const queues = await open(t)
      const runs = new Runs()
      let release: () => void = () => {}
      const gate = new Promise<void>((resolve) => (release = resolve))
      let finished = false
      start(queues, runs, async () => {
        await gate
        finished = true
      })
      const slow = job(channel('close-running'))
      await at(queues, 0).schedule(slow, 10)
      await runs.until(() => runs.count(slow) > 0, 'the handler to start')
      let closed = false
      const closing = Promise.all(queues.map((q) => q.close())).then(() => void (closed = true))
      await sleep(50)
      t.equal(closed, false, 'close has not resolved while the handler runs')
      release()
      await closing
      t.equal(finished, true, 'close resolved after the handler finished')
    })

    t.test('close › schedule rejects with CLOSED and no handler starts', async (t) => {
      const queues = await open(t)
      const runs = new Runs()
      start(queues, runs)
      const pending = job(channel('close-pending'))
      await at(queues, 0).schedule(pending, 40)
      await Promise.all(queues.map((q) => q.close()))
      for (const [i, q] of queues.entries()) {
        const error = await q.schedule(job(channel('late')), 0).then(() => undefined, (e: unknown) => e)
        t.ok(isSwitchboardError(error, 'CLOSED'), `handle ${i}: schedule rejects with CLOSED`, { found: error })
      }
      await sleep(SETTLE_MS)
      t.equal(runs.count(pending), 0, 'the job due after close did not run')
    })

    t.test('close › is idempotent', async (t) => {
      const queues = await open(t)
      const runs = new Runs()
      start(queues, runs)
      const q = at(queues, 0)
      await q.close()
      await q.close()
      await Promise.all([q.close(), q.close(), ...queues.map((other) => other.close())])
      t.pass('closing again resolves')
    })
  })
}
