import t from 'tap'
import type { NodeInfo } from '../../src/engines/node-registry.js'
import type { RedisBrokerStats } from '../../src/engines/redis/redis-broker.js'
import { dense, eventually, messagesOn, publishMany, startCluster, untilSeq } from './fixtures/cluster.js'

// Three node processes on one Redis and one PostgreSQL schema, as a service behind a load
// balancer would run: no sticky sessions, any client on any node.

const TTL_MS = 3_000
/** Messages each node's publisher sends in the fan-out spec. */
const PER_NODE = 150

t.test('cluster › three nodes are one service', async t => {
  const cluster = await startCluster(t, 3, { ttlMs: TTL_MS, maxConnectionsPerUser: 2 })
  const [a, b, c] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]]

  t.test('subscribers on every node get every message published on any node, in seq order', async t => {
    const channel = 'room:everyone'
    const subscribers = await Promise.all(cluster.nodes.flatMap((node, i) => [cluster.connect(node, `reader-${i}a`), cluster.connect(node, `reader-${i}b`)]))
    for (const subscriber of subscribers) t.equal((await subscriber.request({ type: 'subscribe', channel })).type, 'subscribed')
    const publishers = await Promise.all(cluster.nodes.map((node, i) => cluster.connect(node, `writer-${i}`)))
    const results = await Promise.all(publishers.map((publisher, i) => publishMany(publisher, channel, PER_NODE, 5, `node-${i}`)))
    const total = PER_NODE * cluster.nodes.length
    t.same(results.flatMap(result => result.failures), [], 'every publish was answered `published`')
    t.same(results.flatMap(result => result.seqs).sort((x, y) => x - y), dense(total), 'the seqs of all nodes are one dense sequence')
    await Promise.all(subscribers.map(subscriber => untilSeq(subscriber, channel, total)))
    for (const [i, subscriber] of subscribers.entries()) {
      t.same(messagesOn(subscriber, channel).map(m => m.seq), dense(total), `subscriber ${i} (node ${Math.floor(i / 2)}) got 1..${total} once each, in order`)
    }
  })

  t.test('a node with no subscribers for a channel receives no pub/sub traffic for it', async t => {
    const channel = 'room:two-nodes-only'
    const before = await Promise.all(cluster.nodes.map(node => node.command<{ stats: RedisBrokerStats }>({ cmd: 'stats' })))
    const readers = [await cluster.connect(a, 'quiet-a'), await cluster.connect(b, 'quiet-b')]
    // c has a connection, subscribed to nothing.
    await cluster.connect(c, 'idle-c')
    for (const reader of readers) await reader.request({ type: 'subscribe', channel })
    const { seqs } = await publishMany(readers[0]!, channel, 100, 5, 'quiet')
    await Promise.all(readers.map(reader => untilSeq(reader, channel, Math.max(...seqs))))
    const after = await Promise.all(cluster.nodes.map(node => node.command<{ stats: RedisBrokerStats }>({ cmd: 'stats' })))
    const received = after.map((stat, i) => stat.stats.received - before[i]!.stats.received)
    t.ok(received[0]! >= 100 && received[1]! >= 100, `the serving nodes received the traffic (${received[0]}, ${received[1]} payloads)`)
    t.equal(received[2], 0, 'the idle node received no payload at all')
    t.equal(after[2]!.stats.unexpected, 0, 'and nothing for channels it does not serve')
  })

  t.test('disconnecting a user reaches their connections on every node', async t => {
    const onA = await cluster.connect(a, 'mallory')
    const onC = await cluster.connect(c, 'mallory')
    const bystander = await cluster.connect(c, 'bystander')
    await b.command({ cmd: 'disconnect', user: 'mallory' })
    const [closedA, closedC] = await Promise.all([onA.waitClosed(), onC.waitClosed()])
    t.equal(closedA.code, 4003, 'closed on node a with 4003')
    t.equal(closedC.code, 4003, 'closed on node c with 4003')
    t.equal((await bystander.request({ type: 'ping' })).type, 'pong', "another user's connection stays")
  })

  t.test('a user may hold at most maxConnectionsPerUser connections across nodes', async t => {
    const first = await cluster.connect(a, 'carol')
    await cluster.connect(b, 'carol')
    const third = await cluster.connect(c, 'nobody-yet').catch(() => undefined)
    t.ok(third, 'another user is not limited')
    const refused = await cluster.connect(c, 'carol').then(
      () => undefined,
      (err: Error) => err,
    )
    t.match(refused?.message, /TOO_MANY_CONNECTIONS/, 'the third connection is refused with TOO_MANY_CONNECTIONS')
    await first.close()
    // The first connection's slot is released by its node's cleanup, which runs after the close.
    let admitted = false
    await eventually(async () => {
      admitted = await cluster.connect(c, 'carol').then(
        () => true,
        () => false,
      )
      return admitted
    }, 'a slot to free up')
    t.ok(admitted, 'after one closes, a new connection is admitted')
  })

  t.test('the node registry lists the live nodes with their connection counts', async t => {
    await eventually(async () => (await a.command<{ nodes: NodeInfo[] }>({ cmd: 'nodes' })).nodes.length === 3, 'three nodes listed')
    const { nodes } = await a.command<{ nodes: NodeInfo[] }>({ cmd: 'nodes' })
    t.same(nodes.map(node => node.id), ['node-0', 'node-1', 'node-2'])
    for (const node of nodes) {
      t.ok(node.startedAt <= node.updatedAt && node.updatedAt <= Date.now() + 1000, `${node.id} has a start and report time`)
      t.ok(Number.isInteger(node.connections) && node.connections >= 0, `${node.id} reports ${node.connections} connections`)
    }
    await c.kill('SIGTERM')
    const after = await a.command<{ nodes: NodeInfo[] }>({ cmd: 'nodes' })
    t.same(after.nodes.map(node => node.id), ['node-0', 'node-1'], 'a node that shut down cleanly is gone at once')
  })
})
