import { EventEmitter } from 'node:events'
import pg from 'pg'
import t from 'tap'
import { createPrismaClient } from '../../src/engines/prisma/create-prisma-client.js'
import { applyMigrations } from '../../src/engines/prisma/migrate.js'
import { PrismaMessageStore } from '../../src/engines/prisma/prisma-message-store.js'
import { startEmbeddedPostgres } from '../../src/testing/services.js'
import type { AnyFrame, TestClient } from '../../src/testing/test-client.js'
import { startTestServer } from '../../src/testing/test-server.js'
import { room } from '../channels/fixtures/test-channels.js'
import { openHandlesSince, processesMentioning } from '../helpers/leftovers.js'

// A node on a private PostgreSQL that is killed (SIGKILL of every server process, as a crash)
// and restarted while clients publish continuously: no publish may be answered `published`
// unless it is committed, and the node must recover by itself.

const CHANNEL = 'room:faults'
/** Publishing connections; several, so batches of several appends are in flight when the server dies. */
const PUBLISHERS = ['alice', 'bob', 'dave']
/** Publishes in flight at once per connection (pipelined). */
const WINDOW = 10
/** A slot whose publish failed waits this long before publishing again, so the outage is not a busy loop (ms). */
const PAUSE_AFTER_ERROR_MS = 20
/** Publishes answered `published` before the kill, and after the restart. */
const BEFORE_KILL = 100
const AFTER_RESTART = 100
/** Error replies the clients must see while the server is down before it is restarted. */
const ERRORS_WHILE_DOWN = 20
/** Longest any phase may take (ms). */
const PHASE_TIMEOUT_MS = 30_000

/** The outcome of one publish. */
type Reply = { type: 'published'; seq: number; mid: string } | { type: 'error'; code: string }

/** Emits `reply` after every reply of every publisher. */
const progress = new EventEmitter()

/** Resolves once `done()` holds, checked after every reply; fails after {@link PHASE_TIMEOUT_MS}. */
function until(done: () => boolean, what: string): Promise<void> {
  if (done()) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!done()) return
      clearTimeout(timer)
      progress.off('reply', check)
      resolve()
    }
    const timer = setTimeout(() => {
      progress.off('reply', check)
      reject(new Error(`timed out waiting for ${what}`))
    }, PHASE_TIMEOUT_MS)
    progress.on('reply', check)
  })
}

/**
 * Publishes continuously on one connection, `WINDOW` publishes in flight, until stopped. Each
 * publish's text is `<user>-<id>`, so stored messages can be traced back to their publish.
 */
class Publisher {
  /** Replies by publish id. */
  readonly replies = new Map<number, Reply>()
  /** Replies to an id that already had one. */
  readonly extraReplies: AnyFrame[] = []
  readonly outstanding = new Set<number>()
  sent = 0
  private nextId = 1
  private running = true
  private readonly pauses = new Set<NodeJS.Timeout>()

  constructor(
    readonly user: string,
    private readonly client: TestClient,
  ) {
    client.socket.on('message', (data: Buffer) => this.receive(JSON.parse(data.toString()) as AnyFrame))
    this.pump()
  }

  /** The id the next publish gets. */
  get nextPublishId(): number {
    return this.nextId
  }

  /** Replies of `type` to publishes with an id ≥ `fromId`. */
  count(type: Reply['type'], fromId = 0): number {
    let count = 0
    for (const [id, reply] of this.replies) if (id >= fromId && reply.type === type) count += 1
    return count
  }

  /** Stops publishing; resolves once every publish sent has its reply. */
  async stop(): Promise<void> {
    this.running = false
    for (const pause of this.pauses) clearTimeout(pause)
    this.pauses.clear()
    await until(() => this.outstanding.size === 0, `the last replies of ${this.user}`)
  }

  private pump(): void {
    while (this.running && this.outstanding.size + this.pauses.size < WINDOW) {
      const id = this.nextId++
      this.outstanding.add(id)
      this.sent += 1
      this.client.send({ type: 'publish', id, channel: CHANNEL, data: { text: `${this.user}-${id}` } })
    }
  }

  private receive(frame: AnyFrame): void {
    if ((frame.type !== 'published' && frame.type !== 'error') || typeof frame.id !== 'number') return
    if (!this.outstanding.delete(frame.id)) {
      this.extraReplies.push(frame)
      return
    }
    this.replies.set(
      frame.id,
      frame.type === 'published'
        ? { type: 'published', seq: frame.seq as number, mid: frame.mid as string }
        : { type: 'error', code: frame.code as string },
    )
    if (frame.type === 'error' && this.running) {
      const pause = setTimeout(() => {
        this.pauses.delete(pause)
        this.pump()
      }, PAUSE_AFTER_ERROR_MS)
      this.pauses.add(pause)
    } else {
      this.pump()
    }
    progress.emit('reply')
  }
}

/** Sockets, servers, pipes and child processes open now beyond those open before the tests (the test runner's own). */
const leftHandles = openHandlesSince()

/** Every message of `channel` in the database, in seq order, and the stream's seq. */
async function storedMessages(url: string, channel: string): Promise<{ rows: { seq: number; mid: string; text: string }[]; streamSeq: number }> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ seq: string; mid: string; text: string }>(
      `SELECT m.seq::text AS seq, m.mid::text AS mid, m.data->>'text' AS text FROM messages AS m WHERE m.channel = $1 ORDER BY m.seq`,
      [channel],
    )
    const stream = await client.query<{ seq: string }>(`SELECT seq::text AS seq FROM streams WHERE channel = $1`, [channel])
    return { rows: rows.map(row => ({ seq: Number(row.seq), mid: row.mid, text: row.text })), streamSeq: Number(stream.rows[0]?.seq ?? 0) }
  } finally {
    await client.end()
  }
}

/** The private server's port, to check that nothing of it is left running at the end. */
let postgresPort = 0

t.test('faults › PostgreSQL killed and restarted mid-run: errors, never a false `published`, and the node recovers by itself', async t => {
  const postgres = await startEmbeddedPostgres()
  postgresPort = postgres.port
  t.teardown(() => postgres.stop())
  await applyMigrations({ connectionString: postgres.url })
  const store = new PrismaMessageStore({
    client: createPrismaClient({ connectionString: postgres.url, maxConnections: 4 }),
    transactionTimeoutMs: 5_000,
  })
  const server = await startTestServer({
    channels: [room],
    engines: { store },
    publishRatePerSecond: 100_000,
    publishBurst: 100_000,
  })
  // Teardowns run in reverse order of registration: the node first, then PostgreSQL.
  t.teardown(() => server.close())

  const reader = await server.connect('carol', { timeoutMs: PHASE_TIMEOUT_MS })
  const subscribed = await reader.request({ type: 'subscribe', channel: CHANNEL })
  t.match(subscribed, { type: 'subscribed', seq: 0 })
  const writers = await Promise.all(PUBLISHERS.map(user => server.connect(user, { timeoutMs: PHASE_TIMEOUT_MS })))
  const publishers = PUBLISHERS.map((user, i) => new Publisher(user, writers[i] as TestClient))
  /** Replies of `type` over every publisher, to publishes sent after `marks` (next ids by publisher). */
  const total = (type: Reply['type'], marks?: number[]): number =>
    publishers.reduce((sum, publisher, i) => sum + publisher.count(type, marks?.[i] ?? 0), 0)
  const marks = (): number[] => publishers.map(publisher => publisher.nextPublishId)

  await until(() => total('published') >= BEFORE_KILL, `${BEFORE_KILL} publishes before the kill`)
  const killed = marks()
  const killStarted = Date.now()
  await postgres.kill()
  const killedDone = marks()
  await until(() => total('error', killed) >= ERRORS_WHILE_DOWN, 'error replies while PostgreSQL is down')
  await postgres.restart()
  const downMs = Date.now() - killStarted
  const restarted = marks()
  // The node is not restarted: its pool must reconnect by itself.
  await until(() => total('published', restarted) >= AFTER_RESTART, `${AFTER_RESTART} publishes after the restart`)
  await Promise.all(publishers.map(publisher => publisher.stop()))

  const sent = publishers.reduce((sum, publisher) => sum + publisher.sent, 0)
  const replies = publishers.flatMap((publisher, i) =>
    [...publisher.replies].map(([id, reply]) => ({ text: `${publisher.user}-${id}`, reply, beforeKill: id < (killedDone[i] as number) })),
  )
  const codes = new Map<string, number>()
  for (const { reply } of replies) if (reply.type === 'error') codes.set(reply.code, (codes.get(reply.code) ?? 0) + 1)
  t.equal(replies.length, sent, 'every publish got a reply')
  t.same(publishers.flatMap(publisher => publisher.extraReplies), [], 'and only one')
  t.same([...codes.keys()].filter(code => code !== 'INTERNAL' && code !== 'TIMEOUT'), [], 'errors are INTERNAL or TIMEOUT')

  const { rows, streamSeq } = await storedMessages(postgres.url, CHANNEL)
  const bySeq = new Map(rows.map(row => [row.seq, row]))
  t.same(
    replies.filter(({ text, reply }) => reply.type === 'published' && (bySeq.get(reply.seq)?.mid !== reply.mid || bySeq.get(reply.seq)?.text !== text)),
    [],
    'every `published` seq is in the database, with its mid and data',
  )
  t.same(
    rows.map(row => row.seq),
    Array.from({ length: rows.length }, (_, i) => i + 1),
    'seqs in the database are dense from 1',
  )
  t.equal(streamSeq, rows.length, "the stream's seq is the last message's")
  // Committed although its publish got an error (COMMIT done, the reply lost with the server): allowed.
  const published = new Set(replies.flatMap(({ text, reply }) => (reply.type === 'published' ? [text] : [])))
  const erred = new Set(replies.flatMap(({ text, reply }) => (reply.type === 'error' ? [text] : [])))
  const committedDespiteError = rows.filter(row => !published.has(row.text))
  t.same(
    committedDespiteError.filter(row => !erred.has(row.text)),
    [],
    'a stored message not answered `published` was answered with an error',
  )
  const sentBeforeKill = new Set(replies.flatMap(({ text, beforeKill }) => (beforeKill ? [text] : [])))
  t.same(
    committedDespiteError.filter(row => !sentBeforeKill.has(row.text)),
    [],
    'and was in flight when the server was killed',
  )
  t.ok(total('error', killed) >= ERRORS_WHILE_DOWN, 'publishes during the outage got errors')
  t.ok(total('published', restarted) >= AFTER_RESTART, 'publishes succeed again after the restart, on the same node')

  // The subscriber: live messages are committed ones, in order, each once. Messages committed
  // without a broadcast (their publish got an error) leave gaps, closed with `since`.
  const live = reader.frames.filter(frame => frame.type === 'message' && frame.channel === CHANNEL)
  const liveSeqs = live.map(frame => frame.seq as number)
  t.ok(
    liveSeqs.every((seq, i) => i === 0 || seq > (liveSeqs[i - 1] as number)),
    'live messages arrive in seq order, none twice',
  )
  t.same(
    live.filter(frame => bySeq.get(frame.seq as number)?.mid !== frame.mid),
    [],
    'every live message is a committed one',
  )
  const seen = new Set(liveSeqs)
  let contiguous = 0
  while (seen.has(contiguous + 1)) contiguous += 1
  let replayed: AnyFrame[] = []
  if (contiguous < rows.length) {
    await reader.request({ type: 'unsubscribe', channel: CHANNEL })
    const mark = reader.frames.length
    const again = await reader.request({ type: 'subscribe', channel: CHANNEL, since: { epoch: subscribed.epoch, seq: contiguous } })
    t.match(again, { type: 'subscribed', recovered: true, epoch: subscribed.epoch }, 'the stream kept its epoch')
    const last = (frame: AnyFrame): boolean => frame.type === 'message' && frame.seq === rows.length
    if (!reader.frames.slice(mark).some(last)) await reader.next(last, 'the end of the replay')
    replayed = reader.frames.slice(mark).filter(frame => frame.type === 'message')
    t.same(
      replayed.map(frame => frame.seq),
      Array.from({ length: rows.length - contiguous }, (_, i) => contiguous + i + 1),
      'the replay sends every message after the first gap, once each',
    )
  }
  const received = new Map<number, string>()
  for (const frame of [...live, ...replayed]) received.set(frame.seq as number, frame.mid as string)
  t.same(
    rows.filter(row => received.get(row.seq) !== row.mid),
    [],
    'the subscriber got every committed message',
  )

  const stats = store.stats()
  t.comment(
    `${PUBLISHERS.length} publishers sent ${sent} publishes: ${total('published')} published, ${total('error')} errors ` +
      `(${[...codes].map(([code, n]) => `${code} ${n}`).join(', ')}); ${rows.length} messages committed, ` +
      `${committedDespiteError.length} of them answered with an error; PostgreSQL down ${downMs} ms; ` +
      `${total('published', restarted)} published and ${total('error', restarted)} errors after the restart; subscriber: ${live.length} live, ` +
      `${replayed.length} replayed${replayed.length > 0 ? ` from seq ${contiguous + 1}` : ''}; ` +
      `store: ${stats.transactions} transactions (largest batch ${stats.largestBatch}), ${stats.failedTransactions} failed`,
  )

  await reader.close()
  await Promise.all(writers.map(writer => writer.close()))
  // Closing waits for the store's pool to end: a connection leaked by the crash would hang here.
  await server.close()
})

t.test('faults › PostgreSQL: nothing is left running', async t => {
  t.same(leftHandles(), [], 'no socket, server or child process handle is open')
  t.same(await processesMentioning(`-p ${postgresPort}`), [], 'no PostgreSQL process of this file is running')
})
