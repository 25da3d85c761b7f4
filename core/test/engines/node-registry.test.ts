import t, { type Test } from 'tap'
import { MemoryNodeRegistry } from '../../src/engines/memory/memory-node-registry.js'
import type { NodeRegistry } from '../../src/engines/node-registry.js'
import { RedisNodeRegistry } from '../../src/engines/redis/redis-node-registry.js'
import { closeAdmin, openAdmin, REDIS_URL, scanKeys, testPrefix } from './redis/redis-test-kit.js'

// The same behaviour from both registries: entries appear on report, go on leave, and expire
// when their node stops reporting.

const TTL_MS = 300

const backends: [string, (t: Test) => NodeRegistry][] = [
  ['MemoryNodeRegistry', () => new MemoryNodeRegistry({ ttlMs: TTL_MS })],
  [
    'RedisNodeRegistry',
    t => {
      const prefix = testPrefix('registry')
      const admin = openAdmin()
      t.teardown(() => closeAdmin(admin, prefix))
      return new RedisNodeRegistry({ redis: REDIS_URL, prefix, ttlMs: TTL_MS })
    },
  ],
]

for (const [name, create] of backends) {
  t.test(`${name} › lists reported nodes, sorted by id, until they leave or expire`, async t => {
    const registry = create(t)
    t.teardown(() => registry.close())
    t.same(await registry.list(), [])
    await registry.report({ id: 'node-b', startedAt: 1000, connections: 3 })
    await registry.report({ id: 'node-a', startedAt: 2000, connections: 0 })
    const listed = await registry.list()
    t.same(listed.map(n => [n.id, n.startedAt, n.connections]), [['node-a', 2000, 0], ['node-b', 1000, 3]])
    t.ok(listed.every(n => Math.abs(n.updatedAt - Date.now()) < 5000), 'each entry carries its report time')
    await registry.report({ id: 'node-b', startedAt: 1000, connections: 7 })
    t.equal((await registry.list()).find(n => n.id === 'node-b')?.connections, 7, 'a new report replaces the entry')
    await registry.leave('node-a')
    t.same((await registry.list()).map(n => n.id), ['node-b'], 'leave removes the entry at once')
    // node-b stops reporting: its entry is gone once the TTL passed.
    const reportedAt = Date.now()
    while ((await registry.list()).length > 0) {
      if (Date.now() - reportedAt > TTL_MS + 10_000) throw new Error('the entry never expired')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    t.ok(Date.now() - reportedAt >= TTL_MS - 50, 'the entry lived about its TTL')
    await registry.close()
    await registry.close()
    await t.rejects(registry.list(), { code: 'CLOSED' }, 'list rejects after close')
    await t.rejects(registry.report({ id: 'x', startedAt: 0, connections: 0 }), { code: 'CLOSED' })
  })
}

t.test('RedisNodeRegistry › drops expired ids from its index and keeps nothing after leave', async t => {
  const prefix = testPrefix('registry-keys')
  const admin = openAdmin()
  t.teardown(() => closeAdmin(admin, prefix))
  const registry = new RedisNodeRegistry({ redis: REDIS_URL, prefix, ttlMs: 60_000 })
  t.teardown(() => registry.close())
  await registry.report({ id: 'n1', startedAt: 1, connections: 1 })
  await admin.del(`${prefix}:registry:n1`)
  t.same(await registry.list(), [], 'an id whose entry expired is not listed')
  t.equal(await admin.scard(`${prefix}:registry`), 0, 'and is removed from the index')
  await registry.report({ id: 'n2', startedAt: 1, connections: 1 })
  await registry.leave('n2')
  t.same(await scanKeys(admin, prefix), [], 'no key is left')
  t.throws(() => new RedisNodeRegistry({ redis: REDIS_URL, ttlMs: 0 }), { code: 'CONFIG_INVALID' })
})
