import t from 'tap'
import { MemorySequencer } from '../../../src/engines/memory/memory-sequencer.js'
import { sequencerConformance } from '../../../src/testing/index.js'

// Nodes of one process share a sequencer by sharing the instance.
sequencerConformance(t, 'MemorySequencer', async () => {
  const sequencer = new MemorySequencer()
  return { sequencers: [sequencer, sequencer, sequencer], cleanup: () => sequencer.close() }
})

t.test('MemorySequencer (memory-specific)', async (t) => {
  t.test('next › numbers each channel densely from 1', async (t) => {
    const sequencer = new MemorySequencer()
    t.teardown(() => sequencer.close())
    const seqs = await Promise.all(Array.from({ length: 5 }, () => sequencer.next('ch')))
    t.same(seqs.map((r) => r.seq), [1, 2, 3, 4, 5])
    t.equal((await sequencer.next('other')).seq, 1)
  })

  t.test('epoch › one per instance, so a restart starts a new epoch', async (t) => {
    const a = new MemorySequencer()
    const b = new MemorySequencer()
    t.teardown(() => Promise.all([a.close(), b.close()]))
    const red = await a.next('red')
    t.equal((await a.current('blue')).epoch, red.epoch, 'every channel shares the instance epoch')
    t.not((await b.current('red')).epoch, red.epoch)
  })
})
