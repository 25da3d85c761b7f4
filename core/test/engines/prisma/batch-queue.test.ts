import t from 'tap'
import { BatchQueue } from '../../../src/engines/prisma/batch-queue.js'

/** A queue whose commits are recorded and held until released, so tests control timing. */
function heldQueue(maxSize: number, maxWaitMs = 0, maxInFlight = 1) {
  const batches: number[][] = []
  const releases: (() => void)[] = []
  const queue = new BatchQueue<number, string>({
    maxSize,
    maxWaitMs,
    maxInFlight,
    commit: async (items) => {
      batches.push(items)
      await new Promise<void>((resolve) => releases.push(resolve))
      if (items.includes(-1)) throw new Error('refused')
      return items.map((n) => `r${n}`)
    },
  })
  /** Resolves once a commit is running (waiting for release). */
  const started = async (): Promise<void> => {
    while (releases.length === 0) await new Promise<void>((resolve) => setImmediate(resolve))
  }
  /** Waits for the next running commit and lets it finish. */
  const releaseNext = async (): Promise<void> => {
    await started()
    releases.shift()?.()
  }
  return { queue, batches, releases, started, releaseNext }
}

t.test('BatchQueue', async (t) => {
  t.test('a burst becomes one batch; pushes during a commit form the next, in order', async (t) => {
    const { queue, batches, started, releaseNext } = heldQueue(100)
    const first = [1, 2, 3].map((n) => queue.push(n))
    await started()
    const second = [4, 5].map((n) => queue.push(n))
    await releaseNext()
    t.same(await Promise.all(first), ['r1', 'r2', 'r3'])
    await releaseNext()
    t.same(await Promise.all(second), ['r4', 'r5'])
    t.same(batches, [[1, 2, 3], [4, 5]])
  })

  t.test('maxSize caps a batch', async (t) => {
    const { queue, batches, releaseNext } = heldQueue(2)
    const all = Promise.all([1, 2, 3, 4, 5].map((n) => queue.push(n)))
    for (let i = 0; i < 3; i++) await releaseNext()
    t.same(await all, ['r1', 'r2', 'r3', 'r4', 'r5'])
    t.same(batches, [[1, 2], [3, 4], [5]])
  })

  t.test('a failed commit rejects its whole batch and only it', async (t) => {
    const { queue, releaseNext } = heldQueue(10)
    const failed = [1, -1].map((n) => queue.push(n).then(() => 'ok', (e: Error) => e.message))
    await releaseNext()
    const later = queue.push(7)
    await releaseNext()
    t.same(await Promise.all(failed), ['refused', 'refused'])
    t.equal(await later, 'r7')
  })

  t.test('flush commits what waits for maxWaitMs at once', async (t) => {
    const { queue, batches, releaseNext } = heldQueue(10, 60_000)
    const pending = queue.push(1)
    t.equal(queue.size, 1)
    const flushed = queue.flush()
    await releaseNext()
    await flushed
    t.equal(await pending, 'r1')
    t.same(batches, [[1]])
    t.equal(queue.size, 0)
  })

  t.test('maxInFlight 2: a batch starts while another commits; items are answered in start order', async (t) => {
    const { queue, batches, releases, started } = heldQueue(100, 0, 2)
    const answered: number[] = []
    const track = (n: number): Promise<string> => queue.push(n).then((r) => (answered.push(n), r))
    const first = [1, 2].map(track)
    await started()
    const second = [3].map(track)
    while (releases.length < 2) await new Promise<void>((resolve) => setImmediate(resolve))
    const third = [4, 5].map(track)
    for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve))
    t.same(batches, [[1, 2], [3]], 'two batches in flight; the third waits for a free slot')
    t.equal(queue.size, 2)
    t.equal(queue.mostInFlight, 2)
    releases[1]?.()
    for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve))
    t.same(answered, [], 'the second batch committed first, but its item waits for the first batch')
    t.same(batches, [[1, 2], [3], [4, 5]], 'its slot went to the next batch at once')
    releases[0]?.()
    t.same(await Promise.all([...first, ...second]), ['r1', 'r2', 'r3'])
    t.same(answered, [1, 2, 3])
    const flushed = queue.flush()
    releases[2]?.()
    await flushed
    t.same(await Promise.all(third), ['r4', 'r5'])
    t.same(answered, [1, 2, 3, 4, 5])
    t.equal(queue.mostInFlight, 2, 'never more than maxInFlight')
  })
})
