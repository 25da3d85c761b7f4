import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import type { Presence } from '../engines/presence.js'
import { rejectsClosed } from './conformance-helpers.js'

/** What a conformance run's factory returns: `count` handles on one shared presence state. */
export interface PresenceNodes {
  /**
   * One presence per node, all seeing the same state (one cluster). An in-process engine may
   * return the same instance `count` times.
   */
  readonly presences: Presence[]
  /** Closes whatever the factory opened (may assume some presences are already closed). */
  cleanup(): Promise<void>
}

/**
 * Registers, under a subtest named `name` (e.g. `'RedisPresence'`), one tap subtest per
 * behaviour promised by the {@link Presence} doc comment. Each subtest calls `makeNodes(count)`
 * for fresh handles and tears them down afterwards; channel names are unique per run. "Sorted
 * by user id" is checked as code-unit order (`Array.prototype.sort`), the same on every node.
 * Resolves when every subtest has finished.
 */
export async function presenceConformance(
  t: Test,
  name: string,
  makeNodes: (count: number) => Promise<PresenceNodes>,
): Promise<void> {
  const run = randomUUID()
  const channel = (label: string): string => `conformance:${run}:${label}`

  async function open(t: Test, count: number): Promise<Presence[]> {
    const { presences, cleanup } = await makeNodes(count)
    t.teardown(cleanup)
    if (presences.length !== count) throw new Error(`makeNodes(${count}) returned ${presences.length} presences`)
    return presences
  }

  async function one(t: Test): Promise<Presence> {
    const [presence] = await open(t, 1)
    if (presence === undefined) throw new Error('makeNodes(1) returned no presence')
    return presence
  }

  await t.test(name, async (t) => {
    t.test('add › true for the user’s first connection only', async (t) => {
      const p = await one(t)
      const ch = channel('add')
      t.equal(await p.add(ch, 'alice', 'c1'), true, 'first connection makes alice present')
      t.equal(await p.add(ch, 'alice', 'c2'), false, 'a second connection does not')
      t.equal(await p.add(ch, 'bob', 'c3'), true, 'another user is present on their own')
      t.same(await p.members(ch), [
        { user: 'alice', connections: 2 },
        { user: 'bob', connections: 1 },
      ])
    })

    t.test('add › is idempotent per connection', async (t) => {
      const p = await one(t)
      const ch = channel('add-twice')
      t.equal(await p.add(ch, 'alice', 'c1'), true)
      t.equal(await p.add(ch, 'alice', 'c1'), false, 'adding the same connection again is false')
      t.same(await p.members(ch), [{ user: 'alice', connections: 1 }], 'and counts it once')
      t.equal(await p.remove(ch, 'alice', 'c1'), true, 'so one remove makes alice leave')
    })

    t.test('remove › true only when the last connection leaves', async (t) => {
      const p = await one(t)
      const ch = channel('remove')
      await p.add(ch, 'alice', 'c1')
      await p.add(ch, 'alice', 'c2')
      t.equal(await p.remove(ch, 'alice', 'c1'), false, 'alice still has c2')
      t.same(await p.members(ch), [{ user: 'alice', connections: 1 }])
      t.equal(await p.remove(ch, 'alice', 'c2'), true, 'her last connection left')
      t.same(await p.members(ch), [])
    })

    t.test('remove › is idempotent per connection', async (t) => {
      const p = await one(t)
      const ch = channel('remove-twice')
      await p.add(ch, 'alice', 'c1')
      await p.add(ch, 'bob', 'c2')
      t.equal(await p.remove(ch, 'alice', 'c1'), true)
      t.equal(await p.remove(ch, 'alice', 'c1'), false, 'removing it again is false')
      t.same(await p.members(ch), [{ user: 'bob', connections: 1 }], 'and changes nothing')
    })

    t.test('remove › an absent connection is false and changes nothing', async (t) => {
      const p = await one(t)
      const ch = channel('absent')
      await p.add(ch, 'alice', 'c1')
      t.equal(await p.remove(channel('unknown'), 'alice', 'c1'), false, 'unknown channel')
      t.equal(await p.remove(ch, 'bob', 'c1'), false, 'unknown user')
      t.equal(await p.remove(ch, 'alice', 'c9'), false, 'unknown connection of a present user')
      t.same(await p.members(ch), [{ user: 'alice', connections: 1 }])
    })

    t.test('add › true again after the user left', async (t) => {
      const p = await one(t)
      const ch = channel('rejoin')
      await p.add(ch, 'alice', 'c1')
      await p.remove(ch, 'alice', 'c1')
      t.equal(await p.add(ch, 'alice', 'c1'), true)
      t.same(await p.members(ch), [{ user: 'alice', connections: 1 }])
    })

    t.test('members › each user once, sorted by user id, with connection counts', async (t) => {
      const p = await one(t)
      const ch = channel('members')
      t.same(await p.members(ch), [], 'an unknown channel has no members')
      for (const [user, id] of [
        ['carol', 'c1'],
        ['alice', 'c2'],
        ['Zed', 'c3'],
        ['bob', 'c4'],
        ['alice', 'c5'],
        ['10', 'c6'],
        ['9', 'c7'],
        ['carol', 'c8'],
        ['carol', 'c9'],
      ] as const) {
        await p.add(ch, user, id)
      }
      t.same(await p.members(ch), [
        { user: '10', connections: 1 },
        { user: '9', connections: 1 },
        { user: 'Zed', connections: 1 },
        { user: 'alice', connections: 2 },
        { user: 'bob', connections: 1 },
        { user: 'carol', connections: 3 },
      ])
    })

    t.test('members › channels are independent', async (t) => {
      const p = await one(t)
      const red = channel('red')
      const blue = channel('blue')
      t.equal(await p.add(red, 'alice', 'c1'), true)
      t.equal(await p.add(blue, 'alice', 'c1'), true, 'the same connection joins another channel')
      t.equal(await p.remove(red, 'alice', 'c1'), true)
      t.same(await p.members(red), [])
      t.same(await p.members(blue), [{ user: 'alice', connections: 1 }])
    })

    t.test('nodes › share one presence list, counted across nodes', async (t) => {
      const [a, b] = await open(t, 2)
      if (a === undefined || b === undefined) throw new Error('makeNodes(2) returned fewer presences')
      const ch = channel('cluster')
      t.equal(await a.add(ch, 'alice', 'a1'), true, 'first connection, on node a')
      t.equal(await b.add(ch, 'alice', 'b1'), false, 'second connection, on node b')
      t.same(await b.members(ch), [{ user: 'alice', connections: 2 }])
      t.equal(await a.remove(ch, 'alice', 'a1'), false, 'alice is still on node b')
      t.equal(await b.remove(ch, 'alice', 'b1'), true, 'her last connection left')
      t.same(await a.members(ch), [])
    })

    t.test('close › later calls reject with CLOSED', async (t) => {
      const p = await one(t)
      const ch = channel('closed')
      await p.add(ch, 'alice', 'c1')
      await p.close()
      await rejectsClosed(t, () => p.add(ch, 'bob', 'c2'), 'add')
      await rejectsClosed(t, () => p.remove(ch, 'alice', 'c1'), 'remove')
      await rejectsClosed(t, () => p.members(ch), 'members')
    })

    t.test('close › is idempotent', async (t) => {
      const p = await one(t)
      await p.close()
      await p.close()
      await Promise.all([p.close(), p.close()])
      t.pass('closing again resolves')
    })
  })
}
