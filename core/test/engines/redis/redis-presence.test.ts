import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { closeClient } from '../../../src/engines/redis/redis-connection.js'
import { RedisPresence, type PresenceLeave, type RedisPresenceOptions } from '../../../src/engines/redis/redis-presence.js'
import { isSwitchboardError } from '../../../src/errors.js'
import { presenceConformance } from '../../../src/testing/presence-conformance.js'
import { closeAdmin, openAdmin, REDIS_URL, scanKeys, testPrefix } from './redis-test-kit.js'

const prefix = testPrefix('presence')
const admin = openAdmin()
// Purges what each test's nodes leave behind, so no later sweep reports it as a leave.
const janitor = new RedisPresence({ redis: REDIS_URL, prefix, nodeId: `janitor-${randomUUID()}` })
t.teardown(async () => {
  await janitor.close()
  await closeAdmin(admin, prefix)
})

/** Closes `presences` and purges their entries. */
async function retire(presences: readonly RedisPresence[]): Promise<void> {
  await Promise.all(presences.map((presence) => presence.close()))
  for (const presence of presences) await janitor.removeNode(presence.nodeId)
}

presenceConformance(t, 'RedisPresence', async (count) => {
  const presences = Array.from(
    { length: count },
    (_, i) => new RedisPresence({ redis: REDIS_URL, prefix, nodeId: `conformance-${i}-${randomUUID()}` }),
  )
  return {
    presences,
    cleanup: () => retire(presences),
  }
})

/** A node of its own, closed when the test ends. */
function node(t: Test, options: Partial<RedisPresenceOptions> = {}): RedisPresence {
  const presence = new RedisPresence({ redis: REDIS_URL, prefix, nodeId: `node-${randomUUID()}`, ...options })
  t.teardown(() => retire([presence]))
  return presence
}

/** Resolves with the first `count` leaves `presence` reports. */
function leaves(presence: RedisPresence, count: number): Promise<PresenceLeave[]> {
  const seen: PresenceLeave[] = []
  return new Promise((resolve) => {
    const stop = presence.onLeave((leave) => {
      seen.push(leave)
      if (seen.length < count) return
      stop()
      resolve(seen)
    })
  })
}

const byChannel = (a: PresenceLeave, b: PresenceLeave): number => a.channel.localeCompare(b.channel) || a.user.localeCompare(b.user)

t.test('RedisPresence (Redis-specific)', async (t) => {
  t.test('expiry › a dead node’s users leave within the TTL, announced by a live node’s sweep', async (t) => {
    const a = node(t, { ttlMs: 300 })
    const b = node(t, { ttlMs: 300 })
    const room = `room:${randomUUID()}`
    const other = `other:${randomUUID()}`
    await a.add(room, 'alice', 'a1')
    await a.add(room, 'bob', 'a2')
    await b.add(room, 'bob', 'b1')
    await a.add(other, 'carol', 'a3')
    const left = leaves(b, 2)
    const died = Date.now()
    await a.close()
    const reported = await left
    const elapsed = Date.now() - died
    // The contract's bound is ttlMs plus one sweep; the wide margin keeps this a check that the
    // expiry is bounded by the TTL (not by the 30 s default or never), not a timing benchmark.
    t.ok(elapsed < 300 * 10, `the leaves came ${elapsed} ms after the node died (ttlMs 300)`)
    t.same(reported.sort(byChannel), [
      { channel: other, user: 'carol' },
      { channel: room, user: 'alice' },
    ], 'alice and carol left; bob is still there through node b')
    t.same(await b.members(room), [{ user: 'bob', connections: 1 }])
    t.same(await b.members(other), [])
    t.notOk((await admin.smembers(`${prefix}:presence:nodes`)).includes(a.nodeId), 'the dead node is forgotten')
    t.equal(await admin.exists(`${prefix}:presence:node:${a.nodeId}`), 0, 'with its channel index')
  })

  t.test('expiry › members hides a dead node’s connections before any sweep; sweep removes them once', async (t) => {
    const a = node(t)
    const b = node(t)
    const c = node(t)
    const room = `room:${randomUUID()}`
    await a.add(room, 'alice', 'a1')
    await a.add(room, 'bob', 'a2')
    await b.add(room, 'bob', 'b1')
    await a.close()
    await admin.del(`${prefix}:node:${a.nodeId}`)
    t.same(await b.members(room), [{ user: 'bob', connections: 1 }], 'hidden as soon as the heartbeat is gone')
    t.equal(await b.add(room, 'alice', 'b2'), false, 'alice is still counted until swept: no second join')
    const heard: PresenceLeave[] = []
    b.onLeave((leave) => heard.push(leave))
    c.onLeave((leave) => heard.push(leave))
    const [fromB, fromC] = await Promise.all([b.sweep(), c.sweep()])
    t.same([...fromB, ...fromC], [], 'alice and bob are still present elsewhere: nobody left')
    t.same(heard, [])
    t.equal(await b.remove(room, 'alice', 'b2'), true, 'her remaining connection is her last')
    t.same(await c.sweep(), [], 'nothing left to sweep')
  })

  t.test('sweep › concurrent sweeps on several nodes report each leave once', async (t) => {
    const dead = node(t)
    const sweepers = [node(t), node(t), node(t)]
    const channels = Array.from({ length: 20 }, () => `ch:${randomUUID()}`)
    for (const channel of channels) {
      await dead.add(channel, 'alice', 'd1')
      await dead.add(channel, 'alice', 'd2')
    }
    await dead.close()
    await admin.del(`${prefix}:node:${dead.nodeId}`)
    const reports = await Promise.all(sweepers.map((sweeper) => sweeper.sweep()))
    const all = reports.flat().sort(byChannel)
    t.same(all, channels.map((channel) => ({ channel, user: 'alice' })).sort(byChannel))
  })

  t.test('removeNode › purges a live node’s entries and reports who left', async (t) => {
    const a = node(t)
    const b = node(t)
    const room = `room:${randomUUID()}`
    await a.add(room, 'alice', 'a1')
    await b.add(room, 'bob', 'b1')
    const heard: PresenceLeave[] = []
    a.onLeave((leave) => heard.push(leave))
    t.same(await a.removeNode(a.nodeId), [{ channel: room, user: 'alice' }])
    t.same(heard, [{ channel: room, user: 'alice' }], 'onLeave was called')
    t.same(await b.members(room), [{ user: 'bob', connections: 1 }])
    t.equal(await a.remove(room, 'alice', 'a1'), false, 'the purged connection is gone')
    t.same(await a.removeNode(a.nodeId), [], 'idempotent')
  })

  t.test('restart › a process starting under a used node id removes what its predecessor left, and reports those leaves', async (t) => {
    const nodeId = `restarted-${randomUUID()}`
    const room = `room:${randomUUID()}`
    const crashed = new RedisPresence({ redis: REDIS_URL, prefix, nodeId })
    await crashed.add(room, 'alice', 'a1')
    await crashed.add(room, 'bob', 'b1')
    const other = node(t)
    await other.add(room, 'carol', 'c1')
    // A crash: the entries stay, and the heartbeat lives on for its TTL, so no sweep removes them.
    await crashed.close()
    t.equal(await admin.exists(`${prefix}:node:${nodeId}`), 1, 'the predecessor’s heartbeat is still alive')
    const restarted = new RedisPresence({ redis: REDIS_URL, prefix, nodeId })
    t.teardown(() => retire([restarted]))
    const heard = leaves(restarted, 2)
    t.same(await restarted.members(room), [{ user: 'carol', connections: 1 }], 'only the other node’s connection is left')
    t.same((await heard).sort(byChannel), [{ channel: room, user: 'alice' }, { channel: room, user: 'bob' }], 'alice and bob left')
    t.equal(await restarted.add(room, 'alice', 'a2'), true, 'alice comes back as a first connection: a join')
    t.same(await other.members(room), [{ user: 'alice', connections: 1 }, { user: 'carol', connections: 1 }])
  })

  t.test('restart › leaves found before anyone listens go to the first listener', async (t) => {
    const nodeId = `restarted-${randomUUID()}`
    const room = `room:${randomUUID()}`
    const crashed = new RedisPresence({ redis: REDIS_URL, prefix, nodeId })
    await crashed.add(room, 'alice', 'a1')
    await crashed.close()
    const restarted = new RedisPresence({ redis: REDIS_URL, prefix, nodeId })
    t.teardown(() => retire([restarted]))
    t.same(await restarted.members(room), [], 'the start-up cleanup ran')
    t.same(await leaves(restarted, 1), [{ channel: room, user: 'alice' }], 'registered afterwards, still told')
  })

  t.test('heartbeat › a sweep that takes long does not hold up the beats', async (t) => {
    const client = new Redis(REDIS_URL)
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let sweepStuck!: () => void
    const stuck = new Promise<void>((resolve) => (sweepStuck = resolve))
    // A sweep starts by listing the registered nodes: hold it there, as a slow Redis would.
    const smembers = client.smembers.bind(client) as (key: string) => Promise<string[]>
    ;(client as unknown as { smembers: (key: string) => Promise<string[]> }).smembers = async (key) => {
      sweepStuck()
      await gate
      return smembers(key)
    }
    let beats = 0
    let beaten: (() => void) | undefined
    const evalsha = client.evalsha.bind(client) as (...args: unknown[]) => Promise<unknown>
    ;(client as unknown as { evalsha: (...args: unknown[]) => Promise<unknown> }).evalsha = (...args) => {
      beats += 1
      beaten?.()
      return evalsha(...args)
    }
    const presence = new RedisPresence({ redis: client, prefix, nodeId: `slow-sweep-${randomUUID()}`, ttlMs: 300 })
    t.teardown(async () => {
      release()
      await retire([presence])
      await closeClient(client)
    })
    await stuck
    const before = beats
    // Three more beats (one every 100 ms) while the sweep is still held.
    await new Promise<void>((resolve) => {
      beaten = () => {
        if (beats >= before + 3) resolve()
      }
    })
    t.ok(beats >= before + 3, `beats went on during the sweep (${beats - before})`)
    t.equal(await admin.exists(`${prefix}:node:${presence.nodeId}`), 1, 'the heartbeat is alive')
  })

  t.test('reset › onReset is called when the heartbeat vanished (Redis lost its data)', async (t) => {
    const a = node(t, { ttlMs: 300 })
    const room = `room:${randomUUID()}`
    await a.add(room, 'alice', 'a1')
    const reset = new Promise<void>((resolve) => a.onReset(resolve))
    await admin.del(`${prefix}:node:${a.nodeId}`, `${prefix}:presence:conns:${room}`, `${prefix}:presence:users:${room}`)
    await reset
    t.same(await a.members(room), [], 'the entries are gone')
    t.equal(await a.add(room, 'alice', 'a1'), true, 'adding again restores them')
  })

  t.test('keys › live under the prefix; a channel’s keys go when its last connection does', async (t) => {
    const a = node(t)
    const room = `room:${randomUUID()}`
    await a.add(room, 'alice', 'a1')
    const keys = await scanKeys(admin, prefix)
    const expected = [`presence:conns:${room}`, `presence:users:${room}`, `presence:node:${a.nodeId}`, `node:${a.nodeId}`, 'presence:nodes']
    for (const key of expected) t.ok(keys.includes(`${prefix}:${key}`), key)
    await a.remove(room, 'alice', 'a1')
    const after = await scanKeys(admin, prefix)
    t.same(after.filter((key) => key.includes(room) || key.endsWith(`presence:node:${a.nodeId}`)), [], 'nothing of the channel is left')
  })

  t.test('close › quits its own client; a given client stays open', async (t) => {
    const client = new Redis(REDIS_URL)
    t.teardown(() => closeClient(client))
    const shared = new RedisPresence({ redis: client, prefix, nodeId: `shared-${randomUUID()}` })
    await shared.add(`room:${randomUUID()}`, 'alice', 'c1')
    await shared.close()
    t.equal(await client.ping(), 'PONG', 'the given client still works')
    const own = new RedisPresence({ redis: REDIS_URL, prefix, nodeId: `own-${randomUUID()}` })
    t.equal(await own.members(`room:${randomUUID()}`).then(() => own.ready), true, 'ready once connected')
    await own.close()
    t.equal(own.ready, false, 'its own client is closed')
  })

  t.test('options › bad values are refused with CONFIG_INVALID', async (t) => {
    const bad = [{ nodeId: '' }, { nodeId: 'a\0b' }, { nodeId: 'n', ttlMs: 2 }, { nodeId: 'n', ttlMs: 1.5 }, { nodeId: 'n', prefix: '' }]
    for (const options of bad) {
      let error: unknown
      try {
        new RedisPresence({ redis: REDIS_URL, ...options })
      } catch (thrown) {
        error = thrown
      }
      t.ok(isSwitchboardError(error, 'CONFIG_INVALID'), JSON.stringify(options), { found: error })
    }
  })
})
