import { EventEmitter } from 'node:events'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { BullmqRedeliveryQueue } from '../../src/engines/bullmq/bullmq-redelivery-queue.js'
import { createPrismaClient } from '../../src/engines/prisma/create-prisma-client.js'
import { PrismaMessageStore } from '../../src/engines/prisma/prisma-message-store.js'
import type { RedeliveryHandler, RedeliveryJob } from '../../src/engines/queue.js'
import { closeClient } from '../../src/engines/redis/redis-connection.js'
import { startRedisServer, type RedisServerHandle } from '../../src/testing/services.js'
import type { TestClient } from '../../src/testing/test-client.js'
import { startTestServer, type TestServer } from '../../src/testing/test-server.js'
import { dm } from '../channels/fixtures/test-channels.js'
import { migratedSchema, TEST_DATABASE_URL } from '../helpers/postgres-schema.js'
import { openHandlesSince, processesMentioning } from '../helpers/leftovers.js'

// A node whose redelivery queue lives in a private Redis that is killed (SIGKILL) and restarted
// empty while a recipient has unacked messages: the jobs are gone, and redelivery state is
// rebuilt from PostgreSQL (acked cursor vs latest seq).

const CHANNEL = 'dm:alice:bob'
/** Messages alice publishes; bob never acks them until the end. */
const MESSAGES = 20
/** BullMQ's prefix and queue name, to look at its keys. */
const PREFIX = 'sbfault'
const QUEUE_NAME = 'redelivery'
/** First check after delivery (ms): long enough that every first check is still waiting in Redis when it dies. */
const ACK_TIMEOUT_MS = 5_000
/** Longest the tests wait for one step (ms). */
const STEP_TIMEOUT_MS = 30_000

/** A handled check, and when its handler started. */
interface Handled {
  readonly job: RedeliveryJob
  readonly startedAt: number
}

/** The BullMQ queue, recording each check after its handler finished (so tests wait on events, not time). */
class ObservedQueue extends BullmqRedeliveryQueue {
  readonly handled: Handled[] = []
  readonly events = new EventEmitter()
  override process(handler: RedeliveryHandler): void {
    super.process(async job => {
      const startedAt = performance.now()
      await handler(job)
      this.handled.push({ job, startedAt })
      this.events.emit('handled')
    })
  }
  /** Resolves once `done(handled)` holds, checked now and after every handled job. */
  async until(done: (handled: readonly Handled[]) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + STEP_TIMEOUT_MS
    while (!done(this.handled)) {
      const next = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.events.off('handled', onHandled)
          reject(new Error(`timed out waiting for ${what}`))
        }, Math.max(0, deadline - Date.now()))
        const onHandled = (): void => {
          clearTimeout(timer)
          resolve()
        }
        this.events.once('handled', onHandled)
      })
      await next
    }
  }
}

/** The private servers' ports, to check that nothing of them is left running at the end. */
const redisPorts: number[] = []

interface Setup {
  redisServer: RedisServerHandle
  redis: Redis
  queue: ObservedQueue
  store: PrismaMessageStore
  server: TestServer
  alice: TestClient
  bob: TestClient
}

/** A fresh schema, a private Redis, a node on them (PostgreSQL store, BullMQ queue), bob subscribed and alice connected. */
async function setup(t: Test, redeliveryRebuildMs: number): Promise<Setup> {
  const schema = await migratedSchema(t)
  const redisServer = await startRedisServer()
  redisPorts.push(redisServer.port)
  // Workers need `maxRetriesPerRequest: null`: commands wait for the reconnection instead of failing.
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null, connectionName: 'sbtest-faults' })
  redis.on('error', () => {})
  const queue = new ObservedQueue({ connection: redis, prefix: PREFIX, queueName: QUEUE_NAME, retryDelayMs: 100, maxRetryDelayMs: 1_000 })
  const store = new PrismaMessageStore({ client: createPrismaClient({ connectionString: TEST_DATABASE_URL, schema, maxConnections: 4 }) })
  const server = await startTestServer({
    channels: [dm],
    engines: { store, queue },
    ackTimeoutMs: ACK_TIMEOUT_MS,
    // Enough attempts that nothing is dead-lettered during the test.
    redeliveryAttempts: 50,
    redeliveryMaxDelayMs: 3_000,
    redeliveryRebuildMs,
  })
  t.teardown(async () => {
    await server.close()
    await closeClient(redis)
    await redisServer.stop()
  })
  const bob = await server.connect('bob', { timeoutMs: STEP_TIMEOUT_MS })
  const alice = await server.connect('alice', { timeoutMs: STEP_TIMEOUT_MS })
  t.match(await bob.request({ type: 'subscribe', channel: CHANNEL }), { type: 'subscribed' })
  return { redisServer, redis, queue, store, server, alice, bob }
}

/** Sockets, servers, pipes and child processes open now beyond those open before the tests (the test runner's own). */
const leftHandles = openHandlesSince()

/** Copies of each seq bob received in `frames`. */
function copiesBySeq(frames: readonly { type: string; [key: string]: unknown }[]): Map<number, number> {
  const copies = new Map<number, number>()
  for (const frame of frames) {
    if (frame.type === 'message' && frame.channel === CHANNEL) copies.set(frame.seq as number, (copies.get(frame.seq as number) ?? 0) + 1)
  }
  return copies
}

/** Waits until every seq 1..MESSAGES appears in bob's frames from index `mark` on. */
async function redeliveredSince(bob: TestClient, mark: number, what: string): Promise<Map<number, number>> {
  const all = (): boolean => copiesBySeq(bob.frames.slice(mark)).size === MESSAGES
  if (!all()) await bob.next(() => all(), what)
  return copiesBySeq(bob.frames.slice(mark))
}

/** Alice publishes MESSAGES messages (pipelined); resolves once bob has each one. */
async function publishAll({ alice, bob }: Setup): Promise<void> {
  const replies = await Promise.all(
    Array.from({ length: MESSAGES }, (_, i) => alice.request({ type: 'publish', channel: CHANNEL, data: { text: `m${i + 1}` } })),
  )
  const failed = replies.filter((reply, i) => reply.type !== 'published' || reply.seq !== i + 1)
  if (failed.length > 0) throw new Error(`publishes failed: ${JSON.stringify(failed)}`)
  await redeliveredSince(bob, 0, 'the first deliveries')
}

/** Checks waiting in Redis: delayed, or due and waiting for a worker. */
async function pendingChecks(redis: Redis): Promise<number> {
  const [delayed, waiting] = await Promise.all([redis.zcard(`${PREFIX}:${QUEUE_NAME}:delayed`), redis.llen(`${PREFIX}:${QUEUE_NAME}:wait`)])
  return delayed + waiting
}

/**
 * Kills Redis with SIGKILL and restarts it empty; resolves with the checks waiting in Redis
 * before, and after (once the node's client has reconnected), and how many checks ran before the kill.
 */
async function crashRedis({ redisServer, redis, queue }: Setup): Promise<{ before: number; after: number; ranBefore: number }> {
  const ranBefore = queue.handled.length
  const before = await pendingChecks(redis)
  await redisServer.kill('SIGKILL')
  await redisServer.restart()
  // The client reconnects by itself; this command waits for it.
  const after = await pendingChecks(redis)
  return { before, after, ranBefore }
}

/** Bob acks everything and waits until the node has handled it (a `history` request behind the ack). */
async function ackAll(bob: TestClient): Promise<void> {
  bob.send({ type: 'ack', channel: CHANNEL, seq: MESSAGES })
  const barrier = await bob.request({ type: 'history', channel: CHANNEL, limit: 1 })
  if (barrier.type !== 'history') throw new Error(`history failed: ${JSON.stringify(barrier)}`)
}

const redeliveries = async (server: TestServer): Promise<number> =>
  (await server.switchboard.metrics.redeliveries.get()).values[0]?.value ?? 0

t.test('faults › Redis killed and restarted empty: unacked messages are still redelivered', async t => {
  t.test('after rebuildRedeliveries(), every unacked message is redelivered; acking stops them', async t => {
    // No periodic rebuild during the test: only the explicit one brings the checks back.
    const node = await setup(t, 600_000)
    const { queue, store, server, bob } = node
    await publishAll(node)
    const { before, after, ranBefore } = await crashRedis(node)
    // The first checks are due ACK_TIMEOUT_MS after delivery: none ran yet, all of them die with Redis.
    t.equal(ranBefore, 0, 'no check ran before the kill')
    t.equal(before, MESSAGES, 'a check per message was waiting in Redis')
    t.equal(after, 0, 'the restarted Redis has none of them')

    const mark = bob.frames.length
    const restartedAt = performance.now()
    t.equal(await server.switchboard.rebuildRedeliveries(), MESSAGES, 'one check rebuilt per unacked message')
    const copies = await redeliveredSince(bob, mark, 'a redelivery of every message')
    t.same([...copies.keys()].sort((a, b) => a - b), Array.from({ length: MESSAGES }, (_, i) => i + 1), 'every unacked seq was redelivered after the restart')
    // Each rebuilt check resent its message and scheduled the next one, due ACK_TIMEOUT_MS × 2 (±25 %) later.
    await queue.until(handled => handled.filter(h => h.startedAt > restartedAt).length >= MESSAGES, 'the rebuilt checks to finish')

    await ackAll(bob)
    const ackedAt = performance.now()
    t.equal(await store.cursor(CHANNEL, 'bob'), MESSAGES, "bob's cursor covers every message")
    const afterAck = bob.frames.length
    // One chain of checks per message (the rebuilt one): its next check finds the message acked and schedules nothing.
    await queue.until(handled => handled.filter(h => h.startedAt > ackedAt).length >= MESSAGES, 'the pending checks to run after the ack')
    const checksAfterAck = queue.handled.filter(h => h.startedAt > ackedAt)
    t.same(
      checksAfterAck.map(h => h.job.seq).sort((a, b) => a - b),
      Array.from({ length: MESSAGES }, (_, i) => i + 1),
      'the next check of every message ran after the ack',
    )
    t.equal(copiesBySeq(bob.frames.slice(afterAck)).size, 0, 'and none redelivered anything')
    t.equal(await pendingChecks(node.redis), 0, 'no check is left in Redis')
    t.equal(await server.switchboard.rebuildRedeliveries(), 0, 'a rebuild schedules no check either')

    const checksAfterRestart = queue.handled.filter(h => h.startedAt > restartedAt).length
    t.comment(
      `${MESSAGES} messages, ${before} delayed checks in Redis before the kill, ${after} after the restart; ` +
        `${[...copies.values()].reduce((a, b) => a + b, 0)} redeliveries after the restart; ` +
        `${checksAfterRestart} checks ran after the restart (${checksAfterAck.length} after the ack); redeliveries metric ${await redeliveries(server)}`,
    )
    await node.alice.close()
    await bob.close()
  })

  t.test('the periodic rebuild brings the checks back by itself', async t => {
    const node = await setup(t, 500)
    const { server, bob } = node
    await publishAll(node)
    // The periodic rebuild may refill the new Redis before the test can look: `after` is only reported.
    const { before, after } = await crashRedis(node)
    t.equal(before, MESSAGES, 'a check per message was waiting in Redis when it was killed')

    const mark = bob.frames.length
    const copies = await redeliveredSince(bob, mark, 'a redelivery of every message, from the periodic rebuild')
    t.same([...copies.keys()].sort((a, b) => a - b), Array.from({ length: MESSAGES }, (_, i) => i + 1), 'every unacked seq was redelivered after the restart')

    await ackAll(bob)
    t.equal(await server.switchboard.rebuildRedeliveries(), 0, 'once acked, a rebuild schedules nothing')
    t.comment(
      `${MESSAGES} messages, ${before} checks lost, ${after} in Redis once the node reconnected; ${[...copies.values()].reduce((a, b) => a + b, 0)} redeliveries ` +
        `after the restart before the ack; redeliveries metric ${await redeliveries(server)}`,
    )
    await node.alice.close()
    await bob.close()
  })
})

t.test('faults › Redis: nothing is left running', async t => {
  t.same(leftHandles(), [], 'no socket, server or child process handle is open')
  for (const port of redisPorts) t.same(await processesMentioning(`127.0.0.1:${port}`), [], `no redis-server on port ${port}`)
})
