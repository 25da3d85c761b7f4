import t from 'tap'
import { MemoryRedeliveryQueue } from '../../../src/engines/memory/memory-redelivery-queue.js'
import type { RedeliveryJob } from '../../../src/engines/queue.js'
import { queueConformance } from '../../../src/testing/index.js'

// Nodes of one process share a queue by sharing the instance.
await queueConformance(t, 'MemoryRedeliveryQueue', async () => {
  const queue = new MemoryRedeliveryQueue({ retryDelayMs: 10, maxRetryDelayMs: 40 })
  return { queues: [queue, queue, queue], cleanup: () => queue.close() }
})

const job = (seq: number, attempt = 1): RedeliveryJob => ({ channel: 'dm:alice:bob', user: 'bob', seq, attempt })

/** Resolves with the next job `queue` hands to its handler, which then succeeds. */
function nextRun(queue: MemoryRedeliveryQueue): Promise<RedeliveryJob> {
  return new Promise((resolve) => queue.process(async (j) => resolve(j)))
}

t.test('MemoryRedeliveryQueue (memory-specific)', async (t) => {
  t.test('size › counts pending jobs until their handler succeeds', async (t) => {
    const queue = new MemoryRedeliveryQueue()
    t.teardown(() => queue.close())
    await queue.schedule(job(1), 10)
    await queue.schedule(job(1), 10)
    await queue.schedule(job(2), 10_000)
    t.equal(queue.size, 2, 'a duplicate adds nothing')
    t.same(await nextRun(queue), job(1))
    await new Promise((resolve) => setImmediate(resolve))
    t.equal(queue.size, 1, 'the job that ran is forgotten; the later one waits')
  })

  t.test('retry › the delay doubles from retryDelayMs up to maxRetryDelayMs', async (t) => {
    const queue = new MemoryRedeliveryQueue({ retryDelayMs: 20, maxRetryDelayMs: 50 })
    t.teardown(() => queue.close())
    const times: number[] = []
    const done = new Promise<void>((resolve) =>
      queue.process(async () => {
        times.push(performance.now())
        if (times.length < 4) throw new Error('not yet (expected by the test)')
        resolve()
      }),
    )
    await queue.schedule(job(1), 0)
    await done
    const gaps = times.slice(1).map((time, i) => time - (times[i] ?? 0))
    // Timers never fire early; 20, 40, then 50 (capped) ms at least.
    t.ok(gaps.length === 3 && gaps.every((gap, i) => gap >= ([20, 40, 50][i] ?? 0) - 1), 'gaps at least 20, 40, 50 ms', { gaps })
  })

  t.test('close › leaves no timer behind, even with jobs scheduled far ahead', async (t) => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
    const before = timers()
    const queue = new MemoryRedeliveryQueue()
    await queue.schedule(job(1), 60_000)
    await queue.schedule(job(2), 40 * 24 * 3600 * 1000)
    t.equal(timers(), before + 2)
    await queue.close()
    t.equal(timers(), before)
    t.equal(queue.size, 0)
  })

  t.test('config › a negative or fractional delay is CONFIG_INVALID', async (t) => {
    t.throws(() => new MemoryRedeliveryQueue({ retryDelayMs: -1 }), { code: 'CONFIG_INVALID', message: /retryDelayMs .* got -1/ })
    t.throws(() => new MemoryRedeliveryQueue({ maxRetryDelayMs: 1.5 }), { code: 'CONFIG_INVALID', message: /maxRetryDelayMs/ })
  })
})
