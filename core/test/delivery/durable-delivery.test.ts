import { spawn } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import type { Broker } from '../../src/engines/broker.js'
import { BullmqRedeliveryQueue } from '../../src/engines/bullmq/bullmq-redelivery-queue.js'
import { MemoryBroker, MemoryBus } from '../../src/engines/memory/memory-broker.js'
import { createPrismaClient } from '../../src/engines/prisma/create-prisma-client.js'
import { PrismaMessageStore } from '../../src/engines/prisma/prisma-message-store.js'
import type { RedeliveryHandler, RedeliveryJob } from '../../src/engines/queue.js'
import { closeClient } from '../../src/engines/redis/redis-connection.js'
import type { SwitchboardConfig } from '../../src/switchboard.js'
import type { AnyFrame, TestClient } from '../../src/testing/test-client.js'
import { startTestServer, type TestServer } from '../../src/testing/test-server.js'
import { allChannels } from '../channels/fixtures/test-channels.js'
import { HeldBroker } from '../helpers/held-broker.js'
import { closeAdmin, openAdmin, REDIS_URL, testPrefix } from '../engines/redis/redis-test-kit.js'
import { migratedSchema, sql, TEST_DATABASE_URL } from '../helpers/postgres-schema.js'

// Every Redis key of this file (BullMQ's) lives under one random prefix, deleted when the file ends.
const prefix = testPrefix('durable-delivery')
const admin = openAdmin()
t.teardown(() => closeAdmin(admin, prefix))
await admin.ping()

/** Sockets, timers and child processes open before any test: the file must end with no more. */
const openHandles = (): string[] =>
  process
    .getActiveResourcesInfo()
    .filter(r => ['TCPSocketWrap', 'TCPServerWrap', 'Timeout', 'Immediate', 'ProcessWrap', 'PipeWrap'].includes(r))
    .sort()
const handlesBefore = openHandles()

/**
 * The BullMQ queue, reporting each job when its handler starts and when it is done, and
 * recording every job scheduled, so tests wait on events instead of sleeping.
 */
class ObservedQueue extends BullmqRedeliveryQueue {
  readonly events = new EventEmitter()
  readonly scheduled: RedeliveryJob[] = []
  override async schedule(job: RedeliveryJob, delayMs: number): Promise<void> {
    this.scheduled.push(job)
    return super.schedule(job, delayMs)
  }
  override process(handler: RedeliveryHandler): void {
    super.process(async job => {
      this.events.emit('start', job)
      try {
        await handler(job)
      } finally {
        this.events.emit('done', job)
      }
    })
  }
}

/**
 * Resolves with the next `event` of `emitter` whose job matches `match`; `onMatch` runs
 * synchronously inside the emit. Fails after `timeoutMs` saying what it waited for.
 */
function nextJob(
  emitter: EventEmitter,
  event: 'start' | 'done',
  match: (job: RedeliveryJob) => boolean,
  what: string,
  onMatch: (job: RedeliveryJob) => void = () => {},
  timeoutMs = 10_000,
): Promise<RedeliveryJob> {
  return new Promise((resolve, reject) => {
    const listener = (job: RedeliveryJob): void => {
      if (!match(job)) return
      clearTimeout(timer)
      emitter.off(event, listener)
      onMatch(job)
      resolve(job)
    }
    const timer = setTimeout(() => {
      emitter.off(event, listener)
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
    }, timeoutMs)
    emitter.on(event, listener)
  })
}

/** One Switchboard node on the test's schema: its own Prisma client and store, optionally a BullMQ queue and a shared bus. */
interface DurableNode {
  readonly server: TestServer
  readonly store: PrismaMessageStore
  readonly queue: ObservedQueue | undefined
  /** Closes the node, then its Redis connection (idempotent; also run at teardown). */
  close(): Promise<void>
}

async function durableNode(
  t: Test,
  schema: string,
  options: { bus?: MemoryBus; broker?: Broker; queueName?: string; config?: SwitchboardConfig } = {},
): Promise<DurableNode> {
  const store = new PrismaMessageStore({ client: createPrismaClient({ connectionString: TEST_DATABASE_URL, schema, maxConnections: 4 }) })
  const redis = options.queueName === undefined ? undefined : new Redis(REDIS_URL, { maxRetriesPerRequest: null, connectionName: 'sbtest-durable' })
  const queue = redis && new ObservedQueue({ connection: redis, prefix, queueName: options.queueName!, retryDelayMs: 10, maxRetryDelayMs: 40 })
  let server: TestServer
  try {
    server = await startTestServer({
      channels: allChannels,
      engines: {
        store,
        ...(queue ? { queue } : {}),
        ...(options.broker ? { broker: options.broker } : options.bus ? { broker: new MemoryBroker({ bus: options.bus }) } : {}),
      },
      // Test clients publish as fast as they can; the rate limit is not under test here.
      publishRatePerSecond: 100_000,
      publishBurst: 100_000,
      ...options.config,
    })
  } catch (err) {
    await queue?.close()
    await store.close()
    if (redis) await closeClient(redis)
    throw err
  }
  let closing: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await server.close()
      if (redis) await closeClient(redis)
    })())
  t.teardown(close)
  return { server, store, queue, close }
}

/** Resolves with the `message` frames of `channel` once `count` arrived (bounded by the client's timeout). */
async function messages(client: TestClient, channel: string, count: number): Promise<AnyFrame[]> {
  const got = (): AnyFrame[] => client.frames.filter(f => f.type === 'message' && f.channel === channel)
  while (got().length < count) await client.next(f => f.type === 'message' && f.channel === channel, `${count} messages on ${channel} (have ${got().length})`)
  return got()
}

/** The `message` frames of `channel` received after `from` and before `to` (frames of `client`). */
function between(client: TestClient, channel: string, from: AnyFrame, to: AnyFrame): AnyFrame[] {
  return client.frames.slice(client.frames.indexOf(from) + 1, client.frames.indexOf(to)).filter(f => f.type === 'message' && f.channel === channel)
}

const texts = (frames: AnyFrame[]): [number, string][] => frames.map(f => [f.seq as number, (f.data as { text: string }).text])

/**
 * Frames of one connection are handled one at a time in arrival order (a `ping` is answered
 * at once and is no barrier): a `history` reply proves everything sent before it was handled.
 */
const barrier = (client: TestClient, channel: string): Promise<AnyFrame> => client.request({ type: 'history', channel, limit: 1 })

/** How the stored stream of `channel` looks in PostgreSQL. */
async function storedStream(schema: string, channel: string): Promise<{ rows: number; distinct: number; min: number | null; max: number | null; streamSeq: number | null }> {
  const { rows } = await sql(
    `SELECT count(*)::int AS rows, count(DISTINCT m.seq)::int AS distinct, min(m.seq)::int AS min, max(m.seq)::int AS max,
            (SELECT seq::int FROM "${schema}".streams WHERE channel = $1) AS "streamSeq"
     FROM "${schema}".messages AS m WHERE m.channel = $1`,
    [channel],
  )
  return rows[0] as { rows: number; distinct: number; min: number | null; max: number | null; streamSeq: number | null }
}

const queueName = (label: string): string => `${label}-${Math.random().toString(36).slice(2, 10)}`

t.test('durable › concurrency › 4 processes × 1,000 publishes to one channel get seqs 1..4,000, dense, no duplicate', async t => {
  const schema = await migratedSchema(t)
  const channel = 'room:crowded'
  const PROCESSES = 4
  const PER_PROCESS = 1_000
  const worker = fileURLToPath(new URL('./fixtures/publish-node.ts', import.meta.url))
  const started = Date.now()
  // 10 connections × 5 requests in flight = 50 publishes outstanding per process.
  const children = Array.from({ length: PROCESSES }, () =>
    spawn(process.execPath, ['--import', 'tsx', worker, TEST_DATABASE_URL, schema, channel, String(PER_PROCESS), '10', '5'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 90_000,
    }),
  )
  t.teardown(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill()
  })
  const outputs = children.map(child => {
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (): void => {
        if (!stdout.startsWith('ready\n')) return
        child.stdout.off('data', onData)
        resolve()
      }
      child.stdout.on('data', onData)
      child.once('exit', code => reject(new Error(`a publisher process exited (${code}) before it was ready: ${stderr}`)))
    })
    const exited = new Promise<string>((resolve, reject) =>
      child.once('close', (code, signal) =>
        code === 0 ? resolve(stdout) : reject(new Error(`a publisher process failed (code ${code}, signal ${signal}): ${stderr}`)),
      ),
    )
    // Both may reject; the test awaits them in order, so keep the later one from going unhandled.
    exited.catch(() => {})
    return { child, ready, exited }
  })
  await Promise.all(outputs.map(o => o.ready))
  const ready = Date.now()
  // Every node is up and connected: let them all publish at once.
  for (const { child } of outputs) child.stdin.end('go\n')
  const reports = (await Promise.all(outputs.map(o => o.exited))).map(
    stdout => JSON.parse(stdout.trim().split('\n').at(-1)!) as { seqs: number[]; failures: AnyFrame[]; started: number; finished: number },
  )
  t.comment(`processes ready in ${ready - started} ms; publishing took ${Math.max(...reports.map(r => r.finished)) - Math.min(...reports.map(r => r.started))} ms`)

  t.same(reports.map(r => r.failures), [[], [], [], []], 'every publish was answered with `published`')
  t.same(reports.map(r => r.seqs.length), [1000, 1000, 1000, 1000], 'each process got 1,000 seqs')
  t.ok(Math.max(...reports.map(r => r.started)) < Math.min(...reports.map(r => r.finished)), 'the four processes published at the same time')
  const all = reports.flatMap(r => r.seqs).sort((a, b) => a - b)
  t.equal(new Set(all).size, all.length, 'no seq was handed out twice')
  t.same(all, Array.from({ length: PROCESSES * PER_PROCESS }, (_, i) => i + 1), 'the union is exactly 1..4000')
  t.same(await storedStream(schema, channel), { rows: 4000, distinct: 4000, min: 1, max: 4000, streamSeq: 4000 }, 'PostgreSQL holds 4,000 rows, seqs 1..4000')
})

t.test('durable › since › resume at the seam under concurrent publishing: no gap, no duplicate', async t => {
  const schema = await migratedSchema(t)
  const channel = 'room:seam'
  // Two nodes of one cluster: each its own store on the schema, fan-out over one bus. Publishers
  // on both nodes (so live seqs arrive out of order and gaps are filled from the store), the
  // reader on node b.
  const bus = new MemoryBus()
  const a = await durableNode(t, schema, { bus })
  const b = await durableNode(t, schema, { bus })
  const publishers = await Promise.all([a.server.connect('p1'), a.server.connect('p2'), b.server.connect('p3')])
  const reader = await b.server.connect('reader')

  let stop = false
  const published: number[] = []
  const progress = new EventEmitter()
  const publishing = Promise.all(
    publishers.map(async (p, i) => {
      for (let n = 0; !stop; n++) {
        const reply = await p.request({ type: 'publish', channel, data: { text: `p${i + 1}/${n}` } })
        if (reply.type !== 'published') throw new Error(`publish refused: ${JSON.stringify(reply)}`)
        published.push(reply.seq as number)
        progress.emit('published')
      }
    }),
  )
  /** Resolves once `count` more publishes were answered, failing after 10 s. */
  const morePublished = (count: number): Promise<void> => {
    const goal = published.length + count
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (published.length < goal) return
        clearTimeout(timer)
        progress.off('published', check)
        resolve()
      }
      const timer = setTimeout(() => {
        progress.off('published', check)
        reject(new Error(`timed out waiting for ${count} more publishes (${published.length} so far)`))
      }, 10_000)
      progress.on('published', check)
    })
  }
  // Stop the publishers however the reader ends, so a failure cannot leave them running.
  t.teardown(async () => {
    stop = true
    await publishing.catch(() => {})
  })

  const ROUNDS = 8
  const PER_ROUND = 40
  let epoch: string | undefined
  let last = 0
  let seams = 0
  const seen: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const since = epoch === undefined ? {} : { since: { epoch, seq: last } }
    const subscribed = await reader.request({ type: 'subscribe', channel, ...since })
    if (epoch !== undefined) t.match(subscribed, { type: 'subscribed', epoch, recovered: true }, `round ${round}: resumed from seq ${last}`)
    epoch = subscribed.epoch as string
    // Published while the reader was away: replayed from PostgreSQL, then live ones take over.
    if (round > 0 && (subscribed.seq as number) > last) seams += 1
    const target = Math.max(last, subscribed.seq as number) + PER_ROUND
    const opened = reader.frames.indexOf(subscribed)
    const latest = (): number => (reader.frames.slice(opened).filter(f => f.type === 'message' && f.channel === channel).at(-1)?.seq as number | undefined) ?? 0
    while (latest() < target) await reader.next(f => f.type === 'message' && f.channel === channel, `round ${round}: messages up to seq ${target}`)
    const unsubscribed = await reader.request({ type: 'unsubscribe', channel })
    // Everything between `subscribed` and `unsubscribed` belongs to this round.
    const got = between(reader, channel, subscribed, unsubscribed).map(f => f.seq as number)
    if (round > 0 && got[0] !== last + 1) t.fail(`round ${round} started at seq ${got[0]}, expected ${last + 1}`)
    seen.push(...got)
    last = got.at(-1) ?? last
    // Stay away while others publish, so the next subscribe has to replay before going live.
    if (round < ROUNDS - 1) await morePublished(10)
  }
  t.equal(seams, ROUNDS - 1, 'every resubscribe replayed messages published meanwhile, then went live')
  stop = true
  await publishing

  const first = seen[0]!
  t.ok(seen.length >= ROUNDS * PER_ROUND, `${seen.length} messages seen across ${ROUNDS} subscriptions`)
  t.same(seen, Array.from({ length: seen.length }, (_, i) => first + i), 'dense and in order across every seam, no duplicate')
  const sortedPublished = [...published].sort((x, y) => x - y)
  t.same(sortedPublished, Array.from({ length: published.length }, (_, i) => i + 1), `the publishes got seqs 1..${published.length}`)
  t.match(
    await storedStream(schema, channel),
    { rows: published.length, distinct: published.length, min: 1, max: published.length },
    'PostgreSQL holds exactly the published messages',
  )
  for (const client of [...publishers, reader]) await client.close()
})

t.test('durable › since › a replay from PostgreSQL gives JSON and MessagePack subscribers the frames live subscribers got', async t => {
  const schema = await migratedSchema(t)
  const channel = 'room:replay-codecs'
  const node = await durableNode(t, schema)
  const writer = await node.server.connect('writer')
  const live = await node.server.connect('live')
  const subscribed = await live.request({ type: 'subscribe', channel })
  // Texts JSON escapes or spells in more than one way, and a field that is sometimes absent.
  const sent = [{ text: 'plain' }, { text: 'a "quoted" \\ back\\slash' }, { text: 'line\nbreak\ttab' }, { text: 'ü✓😀 </script> \u2028', replyTo: 'm1' }, { text: '{"not":"json"}' }]
  for (const data of sent) await writer.request({ type: 'publish', channel, data })
  const liveFrames = await messages(live, channel, sent.length)
  t.same(liveFrames.map(f => f.data), sent, 'live subscribers got the data as published')
  for (const protocol of ['json', 'msgpack'] as const) {
    const late = await node.server.connect('late', { protocol })
    const resumed = await late.request({ type: 'subscribe', channel, since: { epoch: subscribed.epoch as string, seq: 0 } })
    t.match(resumed, { type: 'subscribed', seq: sent.length, recovered: true }, `${protocol}: the resume recovers`)
    t.same(await messages(late, channel, sent.length), liveFrames, `${protocol}: every replayed frame is the live one, field for field`)
    await late.close()
  }
  await live.close()
  await writer.close()
})

t.test('durable › fan-out › a message overtaken by a later seq from another node still reaches live subscribers', async t => {
  const schema = await migratedSchema(t)
  const channel = 'room:overtaken'
  const bus = new MemoryBus()
  const slowLink = new HeldBroker(bus)
  const a = await durableNode(t, schema, { broker: slowLink })
  const b = await durableNode(t, schema, { bus })
  t.teardown(() => slowLink.release())
  const alice = await a.server.connect('alice')
  const bob = await b.server.connect('bob')
  const reader = await b.server.connect('reader')
  await reader.request({ type: 'subscribe', channel })

  // Node a commits seq 1, but its fan-out is late; node b commits seq 2 and fans it out at once.
  slowLink.hold()
  t.match(await alice.request({ type: 'publish', channel, data: { text: 'first' } }), { type: 'published', seq: 1 }, 'seq 1 committed on node a')
  t.match(await bob.request({ type: 'publish', channel, data: { text: 'second' } }), { type: 'published', seq: 2 }, 'seq 2 committed on node b')
  await messages(reader, channel, 1)
  slowLink.release()
  // Node a's payloads keep their order, so once seq 3 arrives, seq 1 has arrived at node b.
  t.match(await alice.request({ type: 'publish', channel, data: { text: 'third' } }), { type: 'published', seq: 3 })
  await reader.next(f => f.type === 'message' && f.seq === 3, 'seq 3')
  const seqs = reader.frames.filter(f => f.type === 'message' && f.channel === channel).map(f => f.seq as number)
  t.same(seqs, [1, 2, 3], `every committed message reached the live subscriber once, in seq order (got ${seqs.join(', ')})`)
  for (const client of [alice, bob, reader]) await client.close()
})

t.test('durable › offline › messages sent while a user was offline arrive on the next subscribe from another device', async t => {
  const schema = await migratedSchema(t)
  const channel = 'dm:alice:bob'
  const name = queueName('offline')
  // No redelivery during the test: only the stream and the acked cursor are under test here.
  const config = { ackTimeoutMs: 600_000 }
  const first = await durableNode(t, schema, { queueName: name, config })
  const alice = await first.server.connect('alice')
  const laptop = await first.server.connect('bob')
  const subscribed = await laptop.request({ type: 'subscribe', channel })
  for (const [i, text] of ['a', 'b', 'c'].entries()) {
    t.match(await alice.request({ type: 'publish', channel, data: { text } }), { type: 'published', seq: i + 1 }, `${text} is seq ${i + 1}`)
  }
  t.same(texts(await messages(laptop, channel, 3)), [[1, 'a'], [2, 'b'], [3, 'c']], 'bob reads them on his laptop')
  laptop.send({ type: 'ack', channel, seq: 2 })
  await barrier(laptop, channel)
  t.same((await sql(`SELECT user_id, seq::int FROM "${schema}".cursors WHERE channel = $1`, [channel])).rows, [{ user_id: 'bob', seq: 2 }], 'the ack is in PostgreSQL')
  await laptop.close()

  for (const text of ['d', 'e']) await alice.request({ type: 'publish', channel, data: { text } })
  const phone = await first.server.connect('bob')
  const onPhone = await phone.request({ type: 'subscribe', channel })
  t.match(onPhone, { type: 'subscribed', epoch: subscribed.epoch, seq: 5, recovered: false }, 'the phone subscribes without since')
  const phoneDone = await barrier(phone, channel)
  t.same(texts(between(phone, channel, onPhone, phoneDone)), [[3, 'c'], [4, 'd'], [5, 'e']], 'exactly the unacked messages, in order')
  await phone.close()
  await alice.close()
  await first.close()

  // A restarted node: new process state, new store and queue, the same PostgreSQL.
  const second = await durableNode(t, schema, { queueName: name, config })
  const tablet = await second.server.connect('bob')
  const onTablet = await tablet.request({ type: 'subscribe', channel })
  t.match(onTablet, { type: 'subscribed', epoch: subscribed.epoch, seq: 5, recovered: false }, 'the same stream and epoch after the restart')
  const tabletDone = await barrier(tablet, channel)
  t.same(texts(between(tablet, channel, onTablet, tabletDone)), [[3, 'c'], [4, 'd'], [5, 'e']], 'the same unacked messages after the restart')
  const alice2 = await second.server.connect('alice')
  t.match(await alice2.request({ type: 'publish', channel, data: { text: 'f' } }), { type: 'published', seq: 6 }, 'numbering goes on densely')
  t.same(texts(await messages(tablet, channel, 4)).at(-1), [6, 'f'], 'and live delivery too')
  await tablet.close()
  await alice2.close()
})

t.test('durable › redelivery › until ack; stops after ack; dead letter after the last attempt', async t => {
  const schema = await migratedSchema(t)
  const channel = 'dm:alice:bob'
  const node = await durableNode(t, schema, { queueName: queueName('redelivery'), config: { ackTimeoutMs: 100, redeliveryAttempts: 2 } })
  const queue = node.queue!
  const copies = (client: TestClient, seq: number): number => client.frames.filter(f => f.type === 'message' && f.channel === channel && f.seq === seq).length
  const alice = await node.server.connect('alice')
  const bob = await node.server.connect('bob')
  await bob.request({ type: 'subscribe', channel })

  // Until ack: seq 1 comes again while bob does not ack it.
  await alice.request({ type: 'publish', channel, data: { text: 'ack me' } })
  await bob.next(f => f.type === 'message' && f.seq === 1 && copies(bob, 1) === 2, 'the redelivered copy of seq 1')
  t.equal(copies(alice, 1), 0, 'the publisher is no recipient')
  bob.send({ type: 'ack', channel, seq: 1 })
  await barrier(bob, channel)
  t.equal(await node.store.cursor(channel, 'bob'), 1, 'the ack is committed')

  // Stops after ack: the first check that starts after the ack sends nothing and schedules nothing.
  let copiesAtStart = -1
  const check = await nextJob(queue.events, 'start', job => job.seq === 1, 'a check of seq 1 after the ack', () => (copiesAtStart = copies(bob, 1)))
  await nextJob(queue.events, 'done', job => job === check, 'that check to finish')
  t.equal(copies(bob, 1), copiesAtStart, `the check after the ack (attempt ${check.attempt}) sent nothing`)

  // Dead letter: seq 2 is never acked; after 2 redeliveries its check records a dead letter.
  const second = await alice.request({ type: 'publish', channel, data: { text: 'never acked' } })
  t.match(second, { type: 'published', seq: 2 }, 'seq 2 is published')
  await nextJob(queue.events, 'done', job => job.seq === 2 && job.attempt === 3, 'the last check of seq 2')
  t.equal(copies(bob, 2), 3, 'delivered once and redelivered twice')
  const { rows } = await sql(`SELECT channel, seq::int, user_id, mid::text, reason, attempts FROM "${schema}".dead_letters`)
  t.same(rows, [{ channel, seq: 2, user_id: 'bob', mid: second.mid, reason: 'max-attempts', attempts: 3 }], 'one dead letter, in PostgreSQL')
  t.equal(await node.server.switchboard.metrics.deadLetters.get().then(m => m.values[0]?.value), 1, 'counted once in the metrics')
  t.same(
    queue.scheduled.filter(job => job.seq === 1 && job.attempt > check.attempt),
    [],
    'nothing was scheduled for seq 1 after the check that saw the ack',
  )
  t.equal(copies(bob, 1), copiesAtStart, 'and seq 1 never came again')
  await bob.close()

  // The dead letter is still in the stream: the next subscribe (no since) replays from the cursor.
  const phone = await node.server.connect('bob')
  const onPhone = await phone.request({ type: 'subscribe', channel })
  t.match(onPhone, { type: 'subscribed', seq: 2 }, 'bob subscribes again from his phone')
  const done = await barrier(phone, channel)
  const replayed = between(phone, channel, onPhone, done)
  t.match(replayed[0], { seq: 2, mid: second.mid, data: { text: 'never acked' } }, 'the dead-lettered message is delivered from the stream')
  t.same([...new Set(replayed.map(f => f.seq))], [2], 'and only it')
  await phone.close()
  await alice.close()
})

t.test('durable › published only after commit', async t => {
  const schema = await migratedSchema(t)
  const channel = 'room:commit'
  const bus = new MemoryBus()
  const a = await durableNode(t, schema, { bus })
  const b = await durableNode(t, schema, { bus })
  const alice = await a.server.connect('alice')
  const bob = await a.server.connect('bob')
  const carol = await b.server.connect('carol')
  for (const client of [bob, carol]) await client.request({ type: 'subscribe', channel })

  t.match(await alice.request({ type: 'publish', channel, data: { text: 'ok 1' } }), { type: 'published', seq: 1 }, 'a first message is stored')

  // PostgreSQL refuses one message, as it would refuse a broken row or a lost connection.
  await sql(`CREATE FUNCTION "${schema}".refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.data->>'text' = 'poison' THEN RAISE EXCEPTION 'poison refused by the test trigger'; END IF; RETURN NEW; END $$`)
  await sql(`CREATE TRIGGER refuse_poison BEFORE INSERT ON "${schema}".messages FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse_poison()`)
  const refused = await alice.request({ type: 'publish', channel, data: { text: 'poison' } })
  t.match(refused, { type: 'error', code: 'INTERNAL' }, 'the publisher gets INTERNAL')
  t.notMatch(String(refused.message), /poison|trigger|refuse|SQL|prisma/i, 'with no internals in the message')
  t.equal(alice.frames.filter(f => f.type === 'published' && f.id === refused.id).length, 0, 'and never `published`')
  await t.rejects(a.server.switchboard.publish(channel, { text: 'poison' }), { code: 'INTERNAL' }, 'a server-side publish rejects too')
  t.match(await storedStream(schema, channel), { rows: 1, streamSeq: 1 }, 'nothing was stored and no seq was used')

  await sql(`DROP TRIGGER refuse_poison ON "${schema}".messages`)
  t.match(await alice.request({ type: 'publish', channel, data: { text: 'ok 2' } }), { type: 'published', seq: 2 }, 'the next publish gets the next dense seq')
  // Fan-out keeps order per channel: had the refused message gone out, it would come before seq 2.
  for (const client of [bob, carol]) {
    t.same(texts(await messages(client, channel, 2)), [[1, 'ok 1'], [2, 'ok 2']], 'subscribers on both nodes got only committed messages')
  }
  t.same(await storedStream(schema, channel), { rows: 2, distinct: 2, min: 1, max: 2, streamSeq: 2 }, 'PostgreSQL holds seqs 1 and 2')
  for (const client of [alice, bob, carol]) await client.close()
})

t.test('durable › handles › every server, client, Prisma client and Redis connection is closed', async t => {
  // The earlier tests' teardowns have run: only this file's admin connection may remain.
  t.same(openHandles(), handlesBefore, 'no socket, server, timer, immediate or child process left')
})
