import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import { closeClient } from '../../../src/engines/redis/redis-connection.js'
import { RedisSequencer } from '../../../src/engines/redis/redis-sequencer.js'
import { isSwitchboardError } from '../../../src/errors.js'
import { sequencerConformance } from '../../../src/testing/sequencer-conformance.js'
import { closeAdmin, openAdmin, REDIS_URL, scanKeys, testPrefix } from './redis-test-kit.js'

const prefix = testPrefix('sequencer')
const admin = openAdmin()
t.teardown(() => closeAdmin(admin, prefix))

sequencerConformance(t, 'RedisSequencer', async () => {
  const sequencers = [0, 1, 2].map(() => new RedisSequencer({ redis: REDIS_URL, prefix }))
  return {
    sequencers,
    cleanup: async () => {
      await Promise.all(sequencers.map((sequencer) => sequencer.close()))
    },
  }
})

t.test('RedisSequencer (Redis-specific)', async (t) => {
  const [a, b] = [0, 1].map(() => new RedisSequencer({ redis: REDIS_URL, prefix })) as [RedisSequencer, RedisSequencer]
  t.teardown(() => Promise.all([a.close(), b.close()]))

  t.test('epoch › shared by every node, announced by current before the first next', async (t) => {
    const ch = `shared:${randomUUID()}`
    const announced = await a.current(ch)
    t.equal(announced.seq, 0)
    t.same(await b.next(ch), { epoch: announced.epoch, seq: 1 }, 'the first message is in the announced epoch')
    t.same(await a.next(ch), { epoch: announced.epoch, seq: 2 })
    t.same(await b.current(ch), { epoch: announced.epoch, seq: 2 })
  })

  t.test('epoch › changes when Redis lost the channel’s key (a restart); numbering starts over', async (t) => {
    const ch = `lost:${randomUUID()}`
    const before = await a.next(ch)
    await a.next(ch)
    t.same(await scanKeys(admin, `${prefix}:seq:${ch}`), [], 'one key per channel (no sub-keys)')
    t.equal(await admin.del(`${prefix}:seq:${ch}`), 1, 'the channel has exactly one key, `<prefix>:seq:<channel>`')
    const after = await b.next(ch)
    t.not(after.epoch, before.epoch, 'a new epoch')
    t.equal(after.seq, 1, 'numbered from 1 again')
    t.same(await a.current(ch), after, 'every node sees the new epoch')
  })

  t.test('close › a given client stays open', async (t) => {
    const client = new Redis(REDIS_URL)
    t.teardown(() => closeClient(client))
    const sequencer = new RedisSequencer({ redis: client, prefix })
    await sequencer.next(`given:${randomUUID()}`)
    await sequencer.close()
    t.equal(await client.ping(), 'PONG')
    const error = await sequencer.next('x').catch((error: unknown) => error)
    t.ok(isSwitchboardError(error, 'CLOSED'), 'later calls reject with CLOSED', { found: error })
  })

  t.test('options › an empty prefix is refused with CONFIG_INVALID', async (t) => {
    let error: unknown
    try {
      new RedisSequencer({ redis: REDIS_URL, prefix: '' })
    } catch (thrown) {
      error = thrown
    }
    t.ok(isSwitchboardError(error, 'CONFIG_INVALID'), 'throws', { found: error })
  })
})
