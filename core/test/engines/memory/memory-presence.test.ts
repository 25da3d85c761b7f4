import t from 'tap'
import { MemoryPresence } from '../../../src/engines/memory/memory-presence.js'
import { presenceConformance } from '../../../src/testing/index.js'

// Nodes of one process share presence by sharing the instance.
presenceConformance(t, 'MemoryPresence', async (count) => {
  const presence = new MemoryPresence()
  return { presences: Array.from({ length: count }, () => presence), cleanup: () => presence.close() }
})

const EMPTY = { channels: 0, members: 0, connections: 0 }

t.test('MemoryPresence (memory-specific)', async (t) => {
  t.test('leaks › nothing is left once every connection is removed', async (t) => {
    const presence = new MemoryPresence()
    t.teardown(() => presence.close())
    const entries: [string, string, string][] = []
    for (const ch of ['red', 'green', 'blue']) {
      for (const user of ['alice', 'bob']) {
        for (const id of ['c1', 'c2', 'c3']) entries.push([ch, user, `${user}-${id}`])
      }
    }
    for (const entry of entries) await presence.add(...entry)
    t.same(presence.counts(), { channels: 3, members: 6, connections: 18 })
    // Interleaved order, so channels and users empty at different points.
    const order = [...entries.filter((_, i) => i % 2 === 1), ...entries.filter((_, i) => i % 2 === 0)]
    for (const entry of order) await presence.remove(...entry)
    t.same(presence.counts(), EMPTY)
  })

  t.test('leaks › lookups and absent removals create nothing', async (t) => {
    const presence = new MemoryPresence()
    t.teardown(() => presence.close())
    await presence.members('nowhere')
    await presence.remove('nowhere', 'alice', 'c1')
    t.same(presence.counts(), EMPTY)
    await presence.add('ch', 'alice', 'c1')
    await presence.remove('ch', 'bob', 'c1')
    await presence.remove('ch', 'alice', 'c2')
    t.same(presence.counts(), { channels: 1, members: 1, connections: 1 })
  })

  t.test('members › returns a fresh list each time', async (t) => {
    const presence = new MemoryPresence()
    t.teardown(() => presence.close())
    await presence.add('ch', 'alice', 'c1')
    const first = await presence.members('ch')
    first.pop()
    t.same(await presence.members('ch'), [{ user: 'alice', connections: 1 }])
  })

  t.test('close › forgets everything', async (t) => {
    const presence = new MemoryPresence()
    await presence.add('ch', 'alice', 'c1')
    await presence.close()
    t.same(presence.counts(), EMPTY)
  })
})
