import t from 'tap'
import type { Readiness } from '../../src/cluster/cluster-member.js'
import { dense, eventually, messagesOn, publishMany, startCluster, untilSeq } from './fixtures/cluster.js'

// Faults across node processes: a node killed with SIGKILL, and the shared Redis killed and
// restarted empty, while messages are being published. Nothing persisted may be lost.

/** Presence and registry TTL (ms): a dead node's entries go within this (plus one sweep). */
const TTL_MS = 3_000
const MESSAGES = 300

t.test('cluster › a node killed with SIGKILL', async t => {
  const cluster = await startCluster(t, 3, { ttlMs: TTL_MS })
  const [a, b, victim] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]]
  const channel = 'room:crash'

  const watcher = await cluster.connect(a, 'watcher')
  await watcher.request({ type: 'subscribe', channel })
  // ghost is only on the victim and never comes back: its presence must expire with a `leave`.
  const ghost = await cluster.connect(victim, 'ghost')
  const ghostJoined = watcher.next(f => f.type === 'join' && f.user === 'ghost', 'join of ghost')
  await ghost.request({ type: 'subscribe', channel })
  await ghostJoined
  const reader = await cluster.connect(victim, 'reader')
  await reader.request({ type: 'subscribe', channel })

  const publisher = await cluster.connect(b, 'publisher')
  const publishing = publishMany(publisher, channel, MESSAGES, 2, 'crash')
  // Kill the victim mid-stream: once the reader has seen a third of the messages.
  await untilSeq(reader, channel, MESSAGES / 3)
  const ghostLeft = watcher.next(f => f.type === 'leave' && f.user === 'ghost', 'leave of ghost')
  const killedAt = Date.now()
  await victim.kill('SIGKILL')
  const closed = await reader.waitClosed()
  t.equal(closed.code, 1006, "the reader's connection dropped without a close frame")

  // The reader reconnects to another node and resumes from the last message it saw.
  const seen = messagesOn(reader, channel)
  const last = seen[seen.length - 1]!
  const resumed = await cluster.connect(a, 'reader')
  const subscribed = await resumed.request({ type: 'subscribe', channel, since: { epoch: last.epoch, seq: last.seq } })
  t.equal(subscribed.recovered, true, 'the resubscribe with `since` recovered')

  const { seqs, failures } = await publishing
  t.same(failures, [], 'every publish was answered `published`')
  t.same([...seqs].sort((x, y) => x - y), dense(MESSAGES))
  await untilSeq(resumed, channel, MESSAGES)
  const received = [...seen, ...messagesOn(resumed, channel)].map(m => m.seq)
  t.same(received, dense(MESSAGES), `the reader saw 1..${MESSAGES} exactly once, in order, across the crash (${seen.length} before it)`)

  await ghostLeft
  const expiredAfter = Date.now() - killedAt
  // The bound is the TTL plus one sweep interval; the margin is for a loaded machine.
  t.ok(expiredAfter < TTL_MS + TTL_MS / 3 + 10_000, `ghost's presence expired with a leave ${expiredAfter} ms after the kill (TTL ${TTL_MS} ms)`)
  const presence = await watcher.request({ type: 'presence', channel })
  t.same(
    (presence.members as { user: string }[]).map(m => m.user),
    ['reader', 'watcher'],
    'presence lists the users still connected',
  )
  await eventually(
    async () => (await a.command<{ nodes: { id: string }[] }>({ cmd: 'nodes' })).nodes.every(node => node.id !== victim.nodeId),
    'the dead node to leave the registry',
  )
  t.pass('the dead node left the node registry')
})

t.test('cluster › Redis killed and restarted empty', async t => {
  const cluster = await startCluster(t, 3, { ttlMs: TTL_MS })
  const channel = 'room:redis-outage'
  const subscribers = await Promise.all(cluster.nodes.map((node, i) => cluster.connect(node, `sub-${i}`)))
  for (const subscriber of subscribers) await subscriber.request({ type: 'subscribe', channel })
  const publishers = await Promise.all(cluster.nodes.slice(0, 2).map((node, i) => cluster.connect(node, `pub-${i}`)))

  const phase = (name: string): Promise<{ seqs: number[]; failures: { type: string; code?: unknown }[] }> =>
    Promise.all(publishers.map((publisher, i) => publishMany(publisher, channel, MESSAGES / 6, 2, `${name}-${i}`))).then(results => ({
      seqs: results.flatMap(result => result.seqs),
      failures: results.flatMap(result => result.failures),
    }))
  // Before, during and after the outage, each node publishes a share.
  const before = await phase('before')
  await cluster.redis.kill('SIGKILL')
  // While Redis is down the nodes say so on readiness, and keep serving their own subscribers.
  await eventually(
    async () => !(await cluster.nodes[0]!.command<{ readiness: Readiness }>({ cmd: 'readiness' })).readiness.ready,
    'node 0 to report not ready',
  )
  const down = (await cluster.nodes[0]!.command<{ readiness: Readiness }>({ cmd: 'readiness' })).readiness
  t.equal(down.checks.broker, false, 'readiness: the broker is down')
  t.equal(down.checks.store, true, 'readiness: PostgreSQL still answers')
  const during = await phase('during')
  t.equal(during.seqs.length, MESSAGES / 3, `all ${MESSAGES / 3} publishes during the outage were stored and answered`)
  await cluster.redis.restart()
  await eventually(
    async () => {
      const states = await Promise.all(cluster.nodes.map(node => node.command<{ readiness: Readiness }>({ cmd: 'readiness' })))
      return states.every(state => state.readiness.ready)
    },
    'every node to be ready again',
  )
  t.pass('every node reports ready again after Redis returned')
  // Redis came back empty: each node finds its presence heartbeat gone and adds its connections again.
  await eventually(async () => {
    const presence = await subscribers[0]!.request({ type: 'presence', channel })
    return JSON.stringify((presence.members as { user: string }[]).map(m => m.user)) === JSON.stringify(['sub-0', 'sub-1', 'sub-2'])
  }, 'presence to be restored')
  t.pass('presence lists every subscriber again')
  const after = await phase('after')

  const seqs = [...before.seqs, ...during.seqs, ...after.seqs].sort((x, y) => x - y)
  const failures = [...before.failures, ...during.failures, ...after.failures]
  t.same(failures, [], 'every publish was answered `published`')
  const latest = (await subscribers[0]!.request({ type: 'history', channel, limit: 1 })).messages as { seq: number }[]
  const stored = latest[0]!.seq
  t.ok(stored >= seqs.length, `the store holds ${stored} messages, every published one among them`)
  t.ok(seqs.every(seq => seq <= stored))
  await Promise.all(subscribers.map(subscriber => untilSeq(subscriber, channel, stored)))
  for (const [i, subscriber] of subscribers.entries()) {
    t.same(messagesOn(subscriber, channel).map(m => m.seq), dense(stored), `subscriber on node ${i} has 1..${stored}, dense and in order`)
  }
})
